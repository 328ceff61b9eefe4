/**
 * Credential formats with a recognisable prefix, as data: the `secrets` detector (secrets.ts) runs them.
 *
 * Most rules are translated from gitleaks' default rule set, `config/gitleaks.toml` in
 * https://github.com/gitleaks/gitleaks at commit 009e025ad4106ab333aa0b9dc4f2a884390d134c
 * (MIT licence, Copyright (c) 2019 Zachary Rice). A few formats gitleaks does not carry (Cloudflare
 * `cfat_`, Docker `dckr_pat_`, Figma, Groq, Tailscale, Vercel, Anthropic's newer key lengths) follow the
 * formats documented by those vendors, as also checked by secretlint's rules (MIT). `source` says which.
 *
 * Translation rules, so every pattern is linear in JavaScript's backtracking engine:
 *  - each repetition is a single character class with a bound, or is separated from the next one by a
 *    literal the class cannot match (`[A-Za-z0-9_-]{10,}\.`), so no input can be split two ways;
 *  - gitleaks' trailing terminator group is a lookahead here, so the span is the secret alone;
 *  - `\b` at the start becomes "not preceded by a letter or digit" (a token glued to a word is part of that
 *    word: `xhf_…`, `notSG.…`), and fixed-length bodies end with "not followed by a token character", so
 *    a longer string of the same alphabet is not cut to size.
 *
 * `keywords` are lower-case literals of which at least one occurs in any match: the detector looks for all
 * keywords in one pass and runs only the rules whose keyword occurred, so ordinary text costs one scan.
 * `prefixes` (case-sensitive) are the literal starts of a rule's secrets: public (they name the format),
 * so a redaction keeps them and a streamed answer sends them without waiting (formatPrefixLength).
 */
export interface SecretRule {
  readonly id: string;
  readonly description: string;
  readonly keywords: readonly string[];
  /** Global regular expression; capture group 1, when present, is the secret within the match. */
  readonly pattern: RegExp;
  /** Minimum Shannon entropy (bits per character) of the secret: rejects `xxxx…` style placeholders. */
  readonly entropy?: number;
  /** 0..1 (default 1): below 1 for formats that are only probably secret (a bare 64-hex key). */
  readonly score?: number;
  /**
   * Literal starts of the secret: kept by a redaction, streamed without waiting (formatPrefixLength).
   * Only a rule's own are taken off its match: an AWS secret access key is 40 random characters, and one
   * that happens to begin `SK` or `AKIA` is random there too.
   */
  readonly prefixes?: readonly string[];
  /** Text within 80 characters before the match must match this (a format that needs a label). */
  readonly context?: RegExp;
  readonly source: 'gitleaks' | 'vendor' | 'firebreak';
}

/** Not preceded by a letter or digit. */
const B = '(?<![A-Za-z0-9])';
/** Not followed by a token character. */
const E = '(?![A-Za-z0-9_-])';

const rule = (
  id: string,
  description: string,
  keywords: readonly string[],
  body: string,
  extra: Partial<Omit<SecretRule, 'id' | 'description' | 'keywords' | 'pattern'>> & { flags?: string } = {},
): SecretRule => {
  const { flags = '', ...rest } = extra;
  return {
    id,
    description,
    keywords,
    pattern: new RegExp(body, `g${flags}`),
    source: 'gitleaks',
    prefixes: keywords.filter((k) => /[_\-.~]$/.test(k)),
    ...rest,
  };
};

export const secretRules: readonly SecretRule[] = [
  // AI providers
  rule(
    'openai-api-key',
    'OpenAI API key',
    ['t3blbkfj'],
    `${B}(sk-(?:proj|svcacct|admin)-(?:[A-Za-z0-9_-]{74}|[A-Za-z0-9_-]{58})T3BlbkFJ(?:[A-Za-z0-9_-]{74}|[A-Za-z0-9_-]{58})|sk-[a-zA-Z0-9]{20}T3BlbkFJ[a-zA-Z0-9]{20})${E}`,
    { entropy: 3, prefixes: ['sk-'] },
  ),
  rule(
    'anthropic-api-key',
    'Anthropic API or admin key',
    ['sk-ant-'],
    `${B}sk-ant-(?:api03|admin01)-[A-Za-z0-9_-]{93}AA${E}`,
    { prefixes: ['sk-ant-'] },
  ),
  rule('groq-api-key', 'Groq API key', ['gsk_'], `${B}gsk_[A-Za-z0-9]{52}${E}`, { source: 'vendor' }),
  rule('perplexity-api-key', 'Perplexity API key', ['pplx-'], `${B}pplx-[A-Za-z0-9]{48}${E}`, { entropy: 4 }),
  rule(
    'huggingface-token',
    'Hugging Face access token',
    ['hf_', 'api_org_'],
    `${B}(?:hf|api_org)_[A-Za-z]{34}${E}`,
  ),
  // Cloud
  rule(
    'aws-access-key-id',
    'AWS access key id',
    ['akia', 'asia', 'abia', 'acca', 'a3t'],
    `${B}(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}${E}`,
    { entropy: 3, prefixes: ['AKIA', 'ASIA', 'ABIA', 'ACCA', 'A3T'] },
  ),
  rule(
    'aws-secret-access-key',
    'AWS secret access key (40 characters after an AWS secret label)',
    ['aws', 'secret_access', 'secretaccess'],
    '(?<![A-Za-z0-9/+=])([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])',
    {
      entropy: 3.5,
      context: /(?:aws|amazon)[\w.-]{0,30}secret|secret[_.-]?access[_.-]?key/i,
      source: 'firebreak',
    },
  ),
  rule('gcp-api-key', 'Google API key', ['aiza'], `${B}AIza[A-Za-z0-9_-]{35}${E}`, {
    entropy: 4,
    prefixes: ['AIza'],
  }),
  rule(
    'azure-ad-client-secret',
    'Azure AD client secret',
    ['q~'],
    `(?<![A-Za-z0-9_~.])[A-Za-z0-9_~.]{3}\\dQ~[A-Za-z0-9_~.-]{31,34}(?![A-Za-z0-9_~.-])`,
    // Random from its first character: no public start (`Q~` is its fifth and sixth).
    { entropy: 3, prefixes: [] },
  ),
  rule(
    'azure-ad-identifier',
    'Azure AD tenant or client id in a configuration value',
    ['azure', 'tenant'],
    `(?:azure[\\w.-]{0,20}(?:tenant|client)|tenant)[_.-]?id["']?[ \\t]{0,3}(?::=|=>|=|:)[ \\t]{0,3}["']?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})${E}`,
    { flags: 'i', score: 0.7, source: 'vendor' },
  ),
  rule(
    'cloudflare-api-token',
    'Cloudflare API token',
    ['cfat_', 'cfut_', 'cfk_'],
    `${B}cf(?:at|ut|k)_[A-Za-z0-9]{40}[a-f0-9]{8}${E}`,
    { source: 'vendor' },
  ),
  rule(
    'cloudflare-origin-ca-key',
    'Cloudflare origin CA key',
    ['v1.0-'],
    `${B}v1\\.0-[a-f0-9]{24}-[a-f0-9]{146}${E}`,
  ),
  rule(
    'digitalocean-token',
    'DigitalOcean token',
    ['dop_v1_', 'doo_v1_', 'dor_v1_'],
    `${B}do[opr]_v1_[a-f0-9]{64}${E}`,
  ),
  rule(
    'vercel-token',
    'Vercel token',
    ['vcp_', 'vci_', 'vca_', 'vcr_', 'vck_'],
    `${B}vc[picrk]_[A-Za-z0-9]{40,64}${E}`,
    { source: 'vendor' },
  ),
  rule('heroku-api-key', 'Heroku API key', ['hrku-aa'], `${B}HRKU-AA[0-9a-zA-Z_-]{58}${E}`, {
    entropy: 4,
    prefixes: ['HRKU-AA'],
  }),
  rule(
    'flyio-access-token',
    'Fly.io access token',
    ['fo1_', 'fm1', 'fm2_'],
    `${B}(?:fo1_[\\w-]{43}|fm1[ar]_[a-zA-Z0-9+/]{100,}={0,3}|fm2_[a-zA-Z0-9+/]{100,}={0,3})(?![A-Za-z0-9+/=_-])`,
    { entropy: 4, prefixes: ['fo1_', 'fm1a_', 'fm1r_', 'fm2_'] },
  ),
  rule(
    'tailscale-key',
    'Tailscale key',
    ['tskey-'],
    // Preceded by anything but a letter: `MY_tskey-…` is the key after a prefix, `xtskey-…` another word.
    '(?<![A-Za-z])tskey-[a-z]+-[A-Za-z0-9]{6,}-[A-Za-z0-9]{16,}(?![A-Za-z0-9])',
    { source: 'vendor' },
  ),
  // Source control and package registries
  rule(
    'github-token',
    'GitHub token',
    ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_'],
    `${B}gh[pousr]_[0-9a-zA-Z]{36}${E}`,
    { entropy: 3 },
  ),
  rule(
    'github-fine-grained-pat',
    'GitHub fine-grained token',
    ['github_pat_'],
    `${B}github_pat_\\w{82}${E}`,
    {
      entropy: 3,
    },
  ),
  rule(
    'gitlab-token',
    'GitLab token',
    ['glpat-', 'gldt-', 'glrt-', 'glptt-', 'glft-', 'glsoat-', 'glcbt-', 'glimt-', 'glagent-', 'gloas-'],
    `${B}gl(?:pat|dt|rt|ptt|ft|soat|cbt|imt|agent|oas)-[0-9a-zA-Z_-]{20,300}(?:\\.[0-9a-z]{9})?${E}`,
    { entropy: 3 },
  ),
  rule('npm-access-token', 'npm access token', ['npm_'], `${B}npm_[A-Za-z0-9]{36}${E}`, { entropy: 2 }),
  rule(
    'pypi-upload-token',
    'PyPI upload token',
    ['pypi-ageichlwas5vcmc'],
    `${B}pypi-AgEIcHlwaS5vcmc[\\w-]{50,1000}${E}`,
    { prefixes: ['pypi-AgEIcHlwaS5vcmc'] },
  ),
  rule('rubygems-api-token', 'RubyGems API token', ['rubygems_'], `${B}rubygems_[a-f0-9]{48}${E}`),
  rule('docker-pat', 'Docker personal access token', ['dckr_pat_'], `${B}dckr_pat_[A-Za-z0-9_-]{27}${E}`, {
    source: 'vendor',
  }),
  rule('databricks-token', 'Databricks token', ['dapi'], `${B}dapi[a-fA-F0-9]{32}(?:-\\d)?${E}`, {
    entropy: 3,
    prefixes: ['dapi'],
  }),
  // Messaging, payments and SaaS
  rule(
    'slack-token',
    'Slack token',
    ['xoxa-', 'xoxb-', 'xoxe', 'xoxo-', 'xoxp-', 'xoxr-', 'xoxs-'],
    `${B}xox[abeoprs]-(?:\\d-)?[0-9]{8,14}-[0-9A-Za-z-]{6,200}`,
    { prefixes: ['xox'] },
  ),
  rule('slack-app-token', 'Slack app token', ['xapp-'], `${B}xapp-\\d-[A-Z0-9]+-\\d+-[a-z0-9]+`, {
    flags: 'i',
    prefixes: ['xapp-', 'XAPP-'],
  }),
  rule(
    'slack-webhook-url',
    'Slack incoming webhook',
    ['hooks.slack.com'],
    'hooks\\.slack\\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/]{43,56}',
    { prefixes: ['hooks.slack.com/'] },
  ),
  rule(
    'stripe-secret-key',
    'Stripe secret or restricted key',
    ['sk_live', 'sk_test', 'sk_prod', 'rk_live', 'rk_test', 'rk_prod'],
    `${B}[sr]k_(?:live|test|prod)_[A-Za-z0-9]{24,99}${E}`,
    { prefixes: ['sk_', 'rk_'] },
  ),
  rule(
    'stripe-webhook-secret',
    'Stripe webhook signing secret',
    ['whsec_'],
    `${B}whsec_[A-Za-z0-9]{32,}${E}`,
    {
      entropy: 3,
      source: 'vendor',
    },
  ),
  rule('twilio-api-key', 'Twilio API key', ['sk'], `${B}SK[0-9a-fA-F]{32}${E}`, {
    entropy: 3,
    prefixes: ['SK'],
  }),
  rule(
    'sendgrid-api-key',
    'SendGrid API key',
    ['sg.'],
    `${B}SG\\.[A-Za-z0-9_-]{22}\\.[A-Za-z0-9_-]{43}${E}`,
    { prefixes: ['SG.'] },
  ),
  rule(
    'sendinblue-api-key',
    'Sendinblue API key',
    ['xkeysib-'],
    `${B}xkeysib-[a-f0-9]{64}-[A-Za-z0-9]{16}${E}`,
  ),
  rule(
    'shopify-token',
    'Shopify token or secret',
    ['shpat_', 'shpca_', 'shppa_', 'shpss_'],
    `${B}shp(?:at|ca|pa|ss)_[A-Za-z0-9]{32,64}${E}`,
  ),
  rule('linear-api-key', 'Linear API key', ['lin_api_'], `${B}lin_api_[A-Za-z0-9]{40,64}${E}`),
  rule('notion-api-token', 'Notion integration token', ['ntn_'], `${B}ntn_[0-9]{11}[A-Za-z0-9]{35}${E}`, {
    entropy: 3,
  }),
  rule('figma-token', 'Figma personal access token', ['figd_'], `${B}figd_[A-Za-z0-9_-]{40,}${E}`, {
    source: 'vendor',
  }),
  rule('postman-api-key', 'Postman API key', ['pmak-'], `${B}PMAK-[a-f0-9]{24}-[a-f0-9]{34}${E}`, {
    flags: 'i',
    prefixes: ['pmak-', 'PMAK-'],
  }),
  rule('pulumi-access-token', 'Pulumi access token', ['pul-'], `${B}pul-[a-f0-9]{40}${E}`),
  rule('doppler-token', 'Doppler token', ['dp.pt.'], `${B}dp\\.pt\\.[A-Za-z0-9]{43}${E}`),
  rule(
    'dynatrace-token',
    'Dynatrace token',
    ['dt0c01.'],
    `${B}dt0c01\\.[A-Za-z0-9]{24}\\.[A-Za-z0-9]{64}${E}`,
  ),
  rule('sentry-user-token', 'Sentry user token', ['sntryu_'], `${B}sntryu_[a-f0-9]{64}${E}`),
  rule(
    'grafana-token',
    'Grafana API key, cloud or service-account token',
    ['glc_', 'glsa_', 'eyjrijoi'],
    `${B}(?:glc_[A-Za-z0-9+/]{32,400}={0,3}|glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}|eyJrIjoi[A-Za-z0-9]{70,400}={0,3})(?![A-Za-z0-9+/=_-])`,
    { entropy: 3, prefixes: ['glc_', 'glsa_', 'eyJ'] },
  ),
  rule('vault-token', 'HashiCorp Vault token', ['hvs.', 'hvb.', 'hvr.'], `${B}hv[sbr]\\.[\\w-]{90,300}${E}`, {
    entropy: 3.5,
  }),
  rule(
    'onepassword-service-account-token',
    '1Password service account token',
    ['ops_'],
    `${B}ops_eyJ[a-zA-Z0-9+/]{250,}={0,3}`,
    { entropy: 4 },
  ),
  rule('atlassian-api-token', 'Atlassian API token', ['atatt3'], `${B}ATATT3[A-Za-z0-9_=-]{186}${E}`, {
    entropy: 3.5,
    prefixes: ['ATATT3'],
  }),
  rule(
    'age-secret-key',
    'age encryption secret key',
    ['age-secret-key-1'],
    'AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}',
    { prefixes: ['AGE-SECRET-KEY-1'] },
  ),
  rule(
    'firebreak-key',
    'Firebreak gateway key or API token',
    ['fbk_', 'fbt_'],
    `${B}fb[kt]_[A-Za-z0-9_-]{32}${E}`,
    { source: 'firebreak' },
  ),
  // Below the detector's threshold: key-shaped strings without a provider's exact format. Trace
  // redaction removes them (over-redacting a stored trace costs nothing); the guard does not act on them.
  rule(
    'key-like-token',
    'A token shaped like an API key (`sk-…`, `xox…-`) without a known provider format',
    // `sk-ant-` too: the keyword scan records the longest keyword at a position, so where Anthropic's
    // keyword matches, `sk-` does not, and a key too short for Anthropic's format was not looked at.
    ['sk-', 'sk-ant-', 'xoxa-', 'xoxb-', 'xoxo-', 'xoxp-', 'xoxr-', 'xoxs-'],
    `${B}(?:sk-(?:proj-|ant-|svcacct-|admin-)?[A-Za-z0-9_-]{20,300}|xox[abposr]-[A-Za-z0-9-]{10,300})`,
    { score: 0.4, source: 'firebreak' },
  ),
  rule(
    'crypto-private-key',
    'A 256-bit hex private key (secp256k1 / Ethereum) next to a key or wallet label',
    ['0x'],
    `${B}0x[0-9a-fA-F]{64}${E}`,
    // A bare 0x+64-hex is also a transaction or block hash; only call it a key where the text says so.
    {
      entropy: 3,
      score: 0.8,
      prefixes: ['0x'],
      context: /private|secret|wallet|mnemonic|seed|\bkey\b|\bpk\b/i,
      source: 'firebreak',
    },
  ),
];

/**
 * Literal starts of the credential formats: the rules' `prefixes`, and `eyJ`, which starts every JWT
 * (secrets.ts). `-----BEGIN` (private keys) and URL schemes have structural matchers and are held by them.
 */
export const formatPrefixes: readonly string[] = [
  ...new Set([...secretRules.flatMap((r) => r.prefixes ?? []), 'eyJ']),
];

const formatPrefixSet = new Set(formatPrefixes);
/** Every beginning of a format prefix, the prefixes included: where a walk may still find a longer one. */
const formatPrefixStarts = new Set(
  formatPrefixes.flatMap((p) => Array.from({ length: p.length }, (_, k) => p.slice(0, k + 1))),
);
const formatPrefixFirst = new Set(formatPrefixes.map((p) => p.charCodeAt(0)));

/**
 * How many characters at `at` are a format's literal prefix (the longest one; 0 when none): `AKIA`,
 * `sk-ant-`, `ghp_`, `eyJ`. A prefix names the kind of key and is printed in every vendor's documentation;
 * the key is what follows it. So a redaction keeps it (`AKIA[REDACTED:aws-access-key-id]`), which tells a
 * reader what leaked, and a streamed answer sends it without waiting (secret-hold-back.ts): an answer
 * whose first word is `A` does not wait to see whether `KIA` follows. The walk stops at the first
 * character no prefix goes on with, so a token costs a few lookups whatever its length.
 */
export function formatPrefixLength(text: string, at: number): number {
  if (!formatPrefixFirst.has(text.charCodeAt(at))) return 0;
  let best = 0;
  for (let k = 1; at + k <= text.length; k++) {
    const head = text.slice(at, at + k);
    if (!formatPrefixStarts.has(head)) break;
    if (formatPrefixSet.has(head)) best = k;
  }
  return best;
}
