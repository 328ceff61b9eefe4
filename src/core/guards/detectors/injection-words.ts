/**
 * The vocabulary of the injection phrases (injection-rules.ts): word lists a phrase names as `$NAME`,
 * chat-template control tokens, and overrides in scripts written without spaces. Word lists include the
 * most common translations: injection in another language is a known technique, and the classifier has
 * seen little of it.
 */

export const lists: Readonly<Record<string, readonly string[]>> = {
  // Not "override": in documentation it is an everyday verb ("override your project's rules").
  IGNORE: (
    'ignore ignoring disregard disregarding forget forgetting overlook bypass neglect ' +
    'discard dismiss abandon ignora ignorar ignorez ignorer ignoriere ignorieren ignorare ignorate olvida olvide ' +
    'olvidar oublie oubliez oublier vergiss vergessen dimentica dimenticare esqueça esqueca esquece игнорируй ' +
    'игнорировать игнорируйте забудь забудьте αγνόησε αγνοήστε ігноруй ігноруйте zignoruj zapomnij negeer ' +
    'vergeet abaikan lupakan تجاهل'
  ).split(' '),
  /**
   * Whose instructions: all of them, or the model's. "Ignore the previous instructions" is how a user
   * corrects their own request (or an e-mail its own earlier message), so "the" and "my" are not here.
   */
  ALL: (
    'all any your every system developer openai anthropic todas toutes tous alle tutte tutti все всі ' +
    'wszystkie wszelkie semua كل جميع tus sus tes vos deine tuas suas teus seus tue твои ваши'
  ).split(' '),
  /** "Previous" right after the verb, with no article: "ignore previous instructions". */
  PREVIOUS: (
    'previous prior above earlier preceding former foregoing original initial anteriores précédentes ' +
    'precedentes previas vorherigen vorigen bisherigen obigen precedenti предыдущие прежние προηγούμενες ' +
    'попередні poprzednie eerdere vorige'
  ).split(' '),
  INSTRUCTIONS: (
    'instructions instruction directives directive rules guidelines prompts prompt commands orders constraints ' +
    'setup configuration briefing ' +
    'restrictions programming guidance policies policy instrucciones instrucción instruções instrucoes istruzioni ' +
    'anweisungen instruktionen consignes инструкции указания правила οδηγίες інструкції вказівки instrukcje ' +
    'polecenia instructies instruksi perintah تعليماتك التعليمات تعليمات'
  ).split(' '),
  SHOW: 'reveal show print repeat output display leak tell give share disclose dump spell recite echo expose what'.split(
    ' ',
  ),
  ASK: 'reveal show print tell share disclose spell recite what confirm provide say type write'.split(' '),
  // Not "assistant": an e-mail's "note to the assistant" is usually for a person.
  AI: 'ai llm llms gpt chatgpt claude copilot gemini chatbot'.split(' '),
  /** What a jailbroken persona is without, in other languages (English has phrases of its own). */
  LIMITS: (
    'restricciones restrictions restrizioni restrições restricoes einschränkungen beschränkungen filtros ' +
    'filtres filtre filter filtri limites límites limite limiti grenzen regeln reglas règles regras ' +
    'regole ограничений правил фильтров цензуры zensur censura censure'
  ).split(' '),
};

/**
 * Chat-template control tokens: text that tries to open a new system or user turn. Matched as
 * substrings of the lower-cased text (they are punctuation, not words).
 */
export const roleTokens = [
  '<|im_start|>',
  '<|im_end|>',
  '<|system|>',
  '<|user|>',
  '<|assistant|>',
  '<|endoftext|>',
  '<|begin_of_text|>',
  '<|start_header_id|>',
  '[inst]',
  '[/inst]',
  '<<sys>>',
];

/** "Ignore the instructions" in scripts without spaces between words: both parts within a few characters. */
export const unspacedOverrides: readonly (readonly [string, string])[] = [
  ['忽略', '指令'],
  ['忽略', '指示'],
  ['忽略', '之前'],
  ['忽略', '以上'],
  ['无视', '指令'],
  ['無視', '指示'],
  ['無視', '命令'],
  ['지시', '무시'],
  ['निर्देश', 'अनदेख'],
  ['निर्देश', 'नज़रअंदाज़'],
  ['تجاهل', 'التعليمات'],
];
