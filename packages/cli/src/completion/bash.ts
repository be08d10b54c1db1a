import { NAMES_COMMAND, positionPatterns, singleQuoted, type CompletionSpec, type OptionSpec } from './spec.js';

const words = (options: OptionSpec[]) => options.flatMap((option) => option.flags).join(' ');

/** A bash completion function (bash 4 or later, for `compopt`). */
export function bashScript(spec: CompletionSpec): string {
  const valueFlags = spec.valueFlags.join('|');
  const pathFlags = flagsOf(spec, 'local-path');
  const quietFlags = spec.valueFlags.filter((flag) => !pathFlags.includes(flag)).join('|');
  const optionCases = spec.commands.map(
    (command) => `    ${command.name}) options=${singleQuoted(`${words(command.options)} ${words(spec.globalOptions)}`)} ;;`,
  );
  const positionalCases = spec.commands.flatMap((command) => [
    ...positionPatterns(command.positionals, (value) => value.kind === 'remote-name').map(
      (position) => `    ${command.name}:${position}) _cloudstore_names "$server" "$cur" ;;`,
    ),
    ...positionPatterns(command.positionals, (value) => value.kind === 'local-path').map(
      (position) => `    ${command.name}:${position}) compopt -o default ;;`,
    ),
    ...command.positionals.flatMap((positional, index) =>
      positional.value.kind === 'choice'
        ? [`    ${command.name}:${index}) COMPREPLY=($(compgen -W ${singleQuoted(positional.value.choices.join(' '))} -- "$cur")) ;;`]
        : [],
    ),
  ]);
  return `# cloudstore completion for bash. Load it with:  source <(cloudstore completion bash)
_cloudstore_names() {
  local name
  while IFS= read -r name; do
    [[ $name == "$2"* ]] && COMPREPLY+=("$(printf '%q' "$name")")
  done < <(cloudstore ${NAMES_COMMAND} \${1:+--server "$1"} 2>/dev/null)
}

_cloudstore() {
  local cur=\${COMP_WORDS[COMP_CWORD]} command= server= word options i
  local -i position=0
  COMPREPLY=()
  for ((i = 1; i < COMP_CWORD; i++)); do
    word=\${COMP_WORDS[i]}
    case $word in
    --server) server=\${COMP_WORDS[i + 1]} ;&
    ${valueFlags}) ((i++)) ;;
    --server=*) server=\${word#--server=} ;;
    -*) ;;
    *) if [[ -z $command ]]; then command=$word; else ((position++)); fi ;;
    esac
  done
  case \${COMP_WORDS[COMP_CWORD - 1]} in
  ${pathFlags.join('|') || '__none'}) compopt -o default; return ;;
  ${quietFlags || '__none'}) return ;;
  esac
  if [[ $cur == -* ]]; then
    case $command in
${optionCases.join('\n')}
    *) options=${singleQuoted(words(spec.globalOptions))} ;;
    esac
    COMPREPLY=($(compgen -W "$options" -- "$cur"))
  elif [[ -z $command ]]; then
    COMPREPLY=($(compgen -W ${singleQuoted(spec.commands.map((command) => command.name).join(' '))} -- "$cur"))
  else
    case $command:$position in
${positionalCases.join('\n')}
    esac
  fi
}

complete -F _cloudstore cloudstore
`;
}

function flagsOf(spec: CompletionSpec, kind: 'local-path'): string[] {
  const options = [...spec.globalOptions, ...spec.commands.flatMap((command) => command.options)];
  return [...new Set(options.filter((option) => option.value?.kind === kind).flatMap((option) => option.flags))];
}
