import { NAMES_COMMAND, positionPatterns, type CompletionSpec, type OptionSpec, type ValueKind } from './spec.js';

/** A word in single quotes for fish, where a backslash escapes a quote or a backslash. */
const quoted = (text: string) => `'${text.replace(/[\\']/g, '\\$&')}'`;

/**
 * A fish completion file. The helper functions find the command and how many arguments it
 * has so far, skipping options and the values they take.
 */
export function fishScript(spec: CompletionSpec): string {
  const lines = [
    ...spec.globalOptions.map((option) => completeOption(option, '')),
    ...spec.commands.map(
      (command) => `complete -c cloudstore -n __cloudstore_no_command -a ${command.name} -d ${quoted(command.description)}`,
    ),
    ...spec.commands.flatMap((command) => [
      ...command.options.map((option) => completeOption(option, ` -n '__cloudstore_at ${command.name}'`)),
      ...positionPatterns(command.positionals, (value) => value.kind === 'remote-name').map(
        (position) => `complete -c cloudstore -n '__cloudstore_at ${command.name} ${anyAs(position)}' -a '(__cloudstore_names)'`,
      ),
      ...positionPatterns(command.positionals, (value) => value.kind === 'local-path').map(
        (position) => `complete -c cloudstore -n '__cloudstore_at ${command.name} ${anyAs(position)}' -F`,
      ),
      ...command.positionals.flatMap((positional, index) =>
        positional.value.kind === 'choice'
          ? [`complete -c cloudstore -n '__cloudstore_at ${command.name} ${index}' -a ${quoted(positional.value.choices.join(' '))}`]
          : [],
      ),
    ]),
  ];
  return `# cloudstore completion for fish. Save it as ~/.config/fish/completions/cloudstore.fish, or:
#   cloudstore completion fish | source
function __cloudstore_state --description 'the command, its argument count so far, and --server'
    set -l words (commandline -opc)
    set -l command ''
    set -l server ''
    set -l position 0
    set -l i 2
    while test $i -le (count $words)
        set -l word $words[$i]
        switch $word
            case '--server'
                set i (math $i + 1)
                set server $words[$i]
            case ${spec.valueFlags.map(quoted).join(' ')}
                set i (math $i + 1)
            case '--server=*'
                set server (string replace -- --server= '' $word)
            case '-*'
            case '*'
                if test -z "$command"
                    set command $word
                else
                    set position (math $position + 1)
                end
        end
        set i (math $i + 1)
    end
    printf '%s\\n' "$command" $position "$server"
end

function __cloudstore_no_command
    set -l state (__cloudstore_state)
    test -z "$state[1]"
end

# __cloudstore_at COMMAND [POSITION]: completing that command (at that argument, or at any).
function __cloudstore_at
    set -l state (__cloudstore_state)
    test "$state[1]" = $argv[1]; or return 1
    test (count $argv) -lt 2; or test $argv[2] = any; or test $state[2] = $argv[2]
end

function __cloudstore_names
    set -l state (__cloudstore_state)
    if test -n "$state[3]"
        cloudstore ${NAMES_COMMAND} --server $state[3] 2>/dev/null
    else
        cloudstore ${NAMES_COMMAND} 2>/dev/null
    end
end

complete -c cloudstore -f
${lines.join('\n')}
`;
}

/** A repeating argument matches any position; `*` would be a glob in fish. */
const anyAs = (position: string) => (position === '*' ? 'any' : position);

function completeOption(option: OptionSpec, condition: string): string {
  const flags = option.flags.map((flag) => (flag.startsWith('--') ? `-l ${flag.slice(2)}` : `-s ${flag.slice(1)}`)).join(' ');
  return `complete -c cloudstore${condition} ${flags}${valueSwitches(option.value)} -d ${quoted(option.description)}`;
}

/** `-r`: the option takes a value; `-F`: complete it with files; `-x` (`-r -f`): but not files. */
function valueSwitches(value: ValueKind | undefined): string {
  if (value === undefined) return '';
  return value.kind === 'local-path' ? ' -r -F' : ' -x';
}
