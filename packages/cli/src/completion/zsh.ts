import { NAMES_COMMAND, positionPatterns, singleQuoted, type CompletionSpec, type OptionSpec } from './spec.js';

/** `_describe` entries: `word:description`, with colons in the word escaped. */
const described = (word: string, description: string) => singleQuoted(`${word.replaceAll(':', '\\:')}:${description}`);
const optionEntries = (options: OptionSpec[]) =>
  options.flatMap((option) => option.flags.map((flag) => described(flag, option.description))).join(' ');

/** A zsh completion function: as a file named `_cloudstore` in `$fpath`, or sourced after `compinit`. */
export function zshScript(spec: CompletionSpec): string {
  const pathFlags = spec.commands
    .flatMap((command) => command.options)
    .concat(spec.globalOptions)
    .filter((option) => option.value?.kind === 'local-path')
    .flatMap((option) => option.flags);
  const quietFlags = spec.valueFlags.filter((flag) => !pathFlags.includes(flag));
  const optionCases = spec.commands.map((command) => `    (${command.name}) options+=(${optionEntries(command.options)}) ;;`);
  const positionalCases = spec.commands.flatMap((command) => [
    ...positionPatterns(command.positionals, (value) => value.kind === 'remote-name').map(
      (position) => `    (${command.name}:${position}) _cloudstore_names "$server" ;;`,
    ),
    ...positionPatterns(command.positionals, (value) => value.kind === 'local-path').map(
      (position) => `    (${command.name}:${position}) _files ;;`,
    ),
    ...command.positionals.flatMap((positional, index) =>
      positional.value.kind === 'choice' ? [`    (${command.name}:${index}) compadd -- ${positional.value.choices.join(' ')} ;;`] : [],
    ),
  ]);
  return `#compdef cloudstore
# cloudstore completion for zsh. Load it with:  source <(cloudstore completion zsh)
# (after compinit), or save it as _cloudstore in a directory of $fpath.
_cloudstore_names() {
  local -a names
  names=(\${(f)"$(cloudstore ${NAMES_COMMAND} \${1:+--server "$1"} 2>/dev/null)"})
  compadd -a names
}

_cloudstore() {
  local command= server= word
  local -i position=0 i
  local -a options commands
  for ((i = 2; i < CURRENT; i++)); do
    word=\${words[i]}
    case $word in
    (--server) server=\${words[i + 1]}; ((i++)) ;;
    (${spec.valueFlags.join('|')}) ((i++)) ;;
    (--server=*) server=\${word#--server=} ;;
    (-*) ;;
    (*) if [[ -z $command ]]; then command=$word; else ((position++)); fi ;;
    esac
  done
  case \${words[CURRENT - 1]} in
  (${pathFlags.join('|') || '__none'}) _files; return ;;
  (${quietFlags.join('|') || '__none'}) return 1 ;;
  esac
  if [[ \${words[CURRENT]} == -* ]]; then
    options=(${optionEntries(spec.globalOptions)})
    case $command in
${optionCases.join('\n')}
    esac
    _describe -t options option options
  elif [[ -z $command ]]; then
    commands=(${spec.commands.map((command) => described(command.name, command.description)).join(' ')})
    _describe -t commands command commands
  else
    case $command:$position in
${positionalCases.join('\n')}
    (*) return 1 ;;
    esac
  fi
}

if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  _cloudstore "$@"
else
  compdef _cloudstore cloudstore
fi
`;
}
