import { describe, expect, it } from 'vitest';
import { GuardSet } from '../../src/core/guards/engine.js';
import { defaultGuardSettings, parseGuardSettings } from '../../src/core/guards/guard-settings.js';
import { financialPendingFrom } from '../../src/core/guards/detectors/pii-hold-back.js';
import type { PiiKind } from '../../src/core/guards/detectors/pii-match.js';
import {
  bsnChecksum,
  spanishControl,
  validNinoPrefix,
  verhoeff,
} from '../../src/core/guards/detectors/pii-national-ids.js';
import { FINANCIAL_KINDS, findPii } from '../../src/core/guards/detectors/pii.js';
import { financialId, pii } from '../../src/core/guards/detectors/privacy.js';
import { OutputStreamGuard } from '../../src/core/guards/stream-guard.js';
import type { Finding, GuardContext } from '../../src/core/guards/types.js';
import { redactText } from '../../src/core/redact.js';

/**
 * National ids of the `financial-id` detector beyond the US SSN: UK NINO, Canadian SIN, Indian Aadhaar,
 * Spanish DNI and NIE, Dutch BSN. The checksum-valid values were computed by a script (Luhn, Verhoeff,
 * mod 23, the 11-test), never typed from a real person's document; each "bad" value is the same number
 * with its check digit or letter moved by one.
 */
/** [kind, start, end] of every match that reaches the detector's threshold. */
function found(text: string, kinds: readonly PiiKind[] = FINANCIAL_KINDS): [string, number, number][] {
  return findPii(text, kinds)
    .filter((m) => m.score >= financialId.defaultThreshold)
    .map((m) => [m.kind, m.start, m.end]);
}

/** The span of `part` in `text` (its last occurrence: the controls are appended to near misses). */
function span(text: string, part: string): [number, number] {
  const start = text.lastIndexOf(part);
  if (start < 0) throw new Error(`${part} not in ${text}`);
  return [start, start + part.length];
}

const one = (text: string, kind: PiiKind, part: string): void => {
  expect(found(text), text).toEqual([[kind, ...span(text, part)]]);
};

/** Nothing in `nearMisses` fires; with `control` appended, that one id does, alone. */
function missesThenFinds(
  nearMisses: string,
  control: string,
  kind: PiiKind,
  part: string,
  kinds: readonly PiiKind[] = FINANCIAL_KINDS,
): void {
  expect(found(nearMisses, kinds)).toEqual([]);
  one(`${nearMisses}${control}`, kind, part);
}

describe('checksums', () => {
  it('compute what the script computed', () => {
    expect(verhoeff('2363')).toBe(true);
    expect(verhoeff('234567890125')).toBe(true);
    expect(verhoeff('234567890126')).toBe(false);
    expect(bsnChecksum('123456782')).toBe(true);
    expect(bsnChecksum('123456783')).toBe(false);
    expect(bsnChecksum('000000000')).toBe(false);
    expect(spanishControl('12345678')).toBe('Z');
    expect(spanishControl('01234567')).toBe('L');
    expect(spanishControl('01234567')).toBe(spanishControl('1234567'));
  });

  it('apply HMRC prefix rules to NINOs', () => {
    for (const ok of ['AB', 'JG', 'OA', 'ZY', 'CE']) expect(validNinoPrefix(ok), ok).toBe(true);
    // D F I Q U V never; O never second; the unallocated administrative prefixes; QQ, the specimen.
    for (const bad of ['DA', 'AF', 'IA', 'QQ', 'UA', 'AV', 'AO', 'BG', 'GB', 'KN', 'NK', 'NT', 'TN', 'ZZ'])
      expect(validNinoPrefix(bad), bad).toBe(false);
  });
});

describe('UK National Insurance number', () => {
  it('is found whole, in pairs or with its digits together, after its label', () => {
    one('Your NI number is JG 10 37 28 D.', 'nino', 'JG 10 37 28 D');
    one('NINO: JG103728D', 'nino', 'JG103728D');
    one('National Insurance: JG 103728 D on file', 'nino', 'JG 103728 D');
    expect(findPii('National Insurance number JG103728D', ['nino'])[0]?.score).toBe(1);
    // Without its label it scores under the threshold: part numbers and order ids have this shape.
    expect(findPii('see JG103728D', ['nino'])[0]?.score).toBe(0.4);
    expect(found('Order AB123456C has shipped. Part number HP123456A is in stock.')).toEqual([]);
    // The label window starts at a word's start: "Alumni no" is no "NI no", wherever the 40 characters
    // before the number begin.
    for (let pad = 25; pad <= 40; pad++)
      expect(findPii(`Alumni no ${'y'.repeat(pad)} JG103728D`, ['nino'])[0]?.score, String(pad)).toBe(0.4);
  });

  it('is not found with an unallocated prefix, a bad suffix, lower case or more around it', () => {
    const text =
      'QQ 12 34 56 C, QQ123456C, GB123456A, TN 12 34 56 B, AO123456C, DA123456A, JG103728E, ' +
      'jg103728d, XJG103728D, JG1037281D, JG103728DA, JG 10 3728 D';
    // The control: the same text with one valid NINO in it.
    missesThenFinds(text, '; NI number JG103728D', 'nino', 'JG103728D');
  });
});

describe('Canadian social insurance number', () => {
  it('is found, with its label, grouped 3-3-3 or bare', () => {
    one('SIN: 130 123 458', 'sin', '130 123 458');
    one('Social Insurance Number 748-392-610.', 'sin', '748-392-610');
    one('numéro d’assurance sociale (NAS) 562 837 419', 'sin', '562 837 419');
    one('SIN 130123458', 'sin', '130123458');
  });

  it('needs its label, a Luhn-valid number and an assigned first digit', () => {
    // Without a label a Luhn-valid 3-3-3 number is as likely a Polish or Spanish phone number.
    expect(found('Call 501-234-561 or 602 123 457 for help')).toEqual([]);
    expect(found('130 123 458')).toEqual([]);
    // Spanish `sin` ("without") is no label.
    expect(found('llamada sin coste: 912345675')).toEqual([]);
    // Luhn fails; 0 is never assigned (CRA's own sample); 8 is a business number.
    expect(found('SIN 130 123 459, SIN 046 454 286, SIN 812 345 676')).toEqual([]);
    one('SIN 130 123 459, SIN 130 123 458', 'sin', '130 123 458');
  });
});

describe('Indian Aadhaar number', () => {
  it('is found in its printed 4-4-4 shape, or bare with a label', () => {
    one('Aadhaar: 2345 6789 0125', 'aadhaar', '2345 6789 0125');
    one('my Aadhaar number 4918-2736-4506.', 'aadhaar', '4918-2736-4506');
    one('आधार संख्या 8765 4321 0988', 'aadhaar', '8765 4321 0988');
    one('UIDAI id 234567890125', 'aadhaar', '234567890125');
    expect(findPii('Aadhaar 2345 6789 0125', ['aadhaar'])[0]?.score).toBe(1);
    // Unlabelled 4-4-4 scores under the threshold: AWS account ids (as the console prints them),
    // confirmation and gift-card codes have the shape, and Verhoeff passes one in ten.
    expect(findPii('it is 2345 6789 0125', ['aadhaar'])[0]?.score).toBe(0.4);
    expect(
      found(
        'Switch role to 2345-6789-0125 (prod). Confirmation code: 2345-6789-0125. Gift card 2345 6789 0125',
      ),
    ).toEqual([]);
  });

  it('is not a tracking, order or account number, a bad check digit, a leading 0 or 1, or part of a card', () => {
    const text =
      'Tracking 7731 2345 6784; order #3987 6543 2109; parcel 773123456784; 234567890125 as a bare ' +
      'number; 2345 6789 0126; 1234 5678 9014; Aadhaar 1234 5678 9014; 2345 6789 0125 3; ' +
      '12 2345 6789 0125; 2345 6789 0125-7';
    missesThenFinds(text, '. Aadhaar 4918 2736 4506', 'aadhaar', '4918 2736 4506', ['aadhaar']);
  });
});

describe('Spanish DNI and NIE', () => {
  it('are found by their control letter', () => {
    one('DNI 12345678Z', 'dni', '12345678Z');
    one('DNI: 12345678-Z.', 'dni', '12345678-Z');
    one('NIF 12.345.678-Z', 'dni', '12.345.678-Z');
    one('DNI 01234567L', 'dni', '01234567L');
    one('NIE X1234567L', 'nie', 'X1234567L');
    one('NIE: Y-7654321-G', 'nie', 'Y-7654321-G');
    one('(NIE Z2468135X)', 'nie', 'Z2468135X');
    expect(findPii('DNI 12345678Z', ['dni'])[0]?.score).toBe(1);
    // Without a label: under the threshold (one build id or serial in 23 has the right letter).
    expect(findPii('Build 20240115-T is deployed', ['dni'])[0]?.score).toBe(0.4);
    expect(found('Build 20240115-T is deployed. Ticket 20240115T. Serial X1234567L.')).toEqual([]);
  });

  it('are not found with a wrong letter, lower case, a space before the letter or more digits', () => {
    const text = '12345678S, X1234567C, 12345678z, x1234567l, 12345678 Z, 912345678Z, 12345678ZA, A1234567L';
    missesThenFinds(text, ' and DNI 48291537R', 'dni', '48291537R');
  });
});

describe('Dutch BSN', () => {
  it('is found with its label when the 11-test holds', () => {
    one('BSN: 123456782', 'bsn', '123456782');
    one('burgerservicenummer 1234.56.782', 'bsn', '1234.56.782');
    one('BSN 999 888 778', 'bsn', '999 888 778');
  });

  it('is not found without a label or with a failing 11-test', () => {
    expect(found('klantnummer 123456782, BSN 123456783')).toEqual([]);
    one('klantnummer 123456782, BSN 111222333', 'bsn', '111222333');
  });
});

describe('near misses', () => {
  it('order, phone and ISBN numbers, dates and capital pairs do not fire; the ids beside them do', () => {
    const text = [
      'Order #482915370125 shipped 2024-01-15 (15/01/2024) to +1 (415) 555-2671.',
      'Call +34 612 345 678 or 020 7946 0958. ISBN 978-0-306-40615-7, 9780306406157, 0-306-40615-2.',
      'Tracking 773123456784. Made in GB. QQ is a specimen prefix. Route GB 2024. AB-12. PC 123456.',
      'Invoice 2024-000123, version 1.2.3.4, price 12.345.678 EUR, ref A1234567, flight BA 1234.',
    ].join('\n');
    expect(found(text)).toEqual([]);
    const ids = `${text}\nNI number JG103728D, DNI 12345678Z.`;
    expect(found(ids)).toEqual([
      ['nino', ...span(ids, 'JG103728D')],
      ['dni', ...span(ids, '12345678Z')],
    ]);
  });

  it('a phone-shaped national id is that id, not a phone (pii)', () => {
    const text = 'SIN: 130-123-458';
    expect(findPii(text, ['phone', 'sin']).map((m) => m.kind)).toEqual(['sin']);
    expect(pii.detect(text, ctx()).filter((d) => d.kind === 'phone')).toEqual([]);
  });
});

function ctx(): GuardContext {
  return { stage: 'output', settings: defaultGuardSettings, canaries: [], retrieved: [], ownIdentifiers: [] };
}

describe('the financial-id detector', () => {
  it('blocks each national id in output by default and names its kind', () => {
    const guards = new GuardSet(defaultGuardSettings, [financialId]);
    const cases: [string, string][] = [
      ['Your NI number is JG 10 37 28 D.', 'nino'],
      ['SIN: 130 123 458', 'sin'],
      ['Aadhaar 2345 6789 0125', 'aadhaar'],
      ['DNI 12345678Z', 'dni'],
      ['NIE X1234567L', 'nie'],
      ['BSN 123456782', 'bsn'],
    ];
    for (const [text, kind] of cases) {
      const r = guards.scan(text, ctx());
      expect(r.action, text).toBe('block');
      expect(r.findings.map((f) => f.kind)).toEqual([kind]);
      expect(r.findings[0]?.message).toMatch(/^an? /);
    }
    expect(financialId.description).toMatch(/NINO.*SIN.*Aadhaar.*DNI\/NIE.*BSN/);
  });
});

describe('trace redaction', () => {
  it('removes each national id from stored text, and leaves unlabelled look-alikes', () => {
    expect(redactText('NI number JG 10 37 28 D and NINO JG103728D; SIN 130-123-458')).toBe(
      'NI number [REDACTED:nino] and NINO [REDACTED:nino]; SIN [REDACTED:sin]',
    );
    // Unlabelled, a NINO's shape is a part number's as often: it stays.
    expect(redactText('part JG103728D')).toBe('part JG103728D');
    expect(redactText('Aadhaar 2345 6789 0125, UIDAI 234567890125')).toBe(
      'Aadhaar [REDACTED:aadhaar], UIDAI [REDACTED:aadhaar]',
    );
    expect(redactText('DNI 12345678Z, NIF 12.345.678-Z, NIE X1234567L')).toBe(
      'DNI [REDACTED:dni], NIF [REDACTED:dni], NIE [REDACTED:nie]',
    );
    expect(redactText('BSN 1234.56.782')).toBe('BSN [REDACTED:bsn]');
    expect(redactText('{"q":"my nino is jg103728d? no: JG103728D"}')).toBe(
      '{"q":"my nino is jg103728d? no: [REDACTED:nino]"}',
    );
    expect(redactText('call 501-234-561, parcel 773123456784, 12345678S')).toBe(
      'call 501-234-561, parcel 773123456784, 12345678S',
    );
  });
});

describe('streaming hold-back', () => {
  const held = (t: string): string => t.slice(financialPendingFrom(t));

  /** Every prefix of `text` that ends inside `id` holds at least the part of `id` written so far. */
  function holdsEveryPrefix(text: string, id: string): void {
    const [start, end] = span(text, id);
    for (let i = start + 1; i < end; i++) {
      const prefix = text.slice(0, i);
      expect(financialPendingFrom(prefix), JSON.stringify(prefix)).toBeLessThanOrEqual(start);
    }
  }

  it('holds every prefix of each national id', () => {
    holdsEveryPrefix('Your NI number is JG 10 37 28 D, thanks', 'JG 10 37 28 D');
    holdsEveryPrefix('NINO JG103728D.', 'JG103728D');
    holdsEveryPrefix('National Insurance number on file: JG103728D.', 'JG103728D');
    holdsEveryPrefix('NI number JG 103728 D.', 'JG 103728 D');
    holdsEveryPrefix('SIN 130-123-458.', '130-123-458');
    holdsEveryPrefix('Aadhaar 2345 6789 0125.', '2345 6789 0125');
    holdsEveryPrefix('DNI 12345678Z.', '12345678Z');
    holdsEveryPrefix('DNI 12345678-Z.', '12345678-Z');
    holdsEveryPrefix('NIF 12.345.678-Z.', '12.345.678-Z');
    holdsEveryPrefix('NIE X1234567L.', 'X1234567L');
    holdsEveryPrefix('NIE X-1234567-L.', 'X-1234567-L');
    holdsEveryPrefix('BSN 1234.56.782.', '1234.56.782');
  });

  it('holds what may still become a NINO, NIE or dotted DNI, and no ordinary word', () => {
    expect(held('NI number JG')).toBe('JG');
    expect(held('NI number JG ')).toBe('JG ');
    expect(held('NI number JG1037')).toBe('JG1037');
    expect(held('NI number JG 10 37 28 ')).toBe('JG 10 37 28 ');
    expect(held('NIE X123')).toBe('X123');
    expect(held('NIF 12.345.')).toBe('12.345.');
    // A capital alone only after the id's label (the article `A` starts many answers); never a word.
    expect(held('NI number J')).toBe('J');
    expect(held('NIE X')).toBe('X');
    expect(held('the answer is A')).toBe('');
    expect(held('A')).toBe('');
    expect(held('Juan Y')).toBe('');
    expect(held('Hello Paris')).toBe('');
    expect(held('Hello PARIS')).toBe('');
    expect(held('Tom went to NYC')).toBe('');
    // Prefixes HMRC never allocates, and a NINO that would have too many digits.
    expect(held('specimen QQ')).toBe('');
    expect(held('the EU')).toBe('');
    expect(held('I')).toBe('');
    expect(held('JG1037281')).toBe('');
    expect(held('a Xbox')).toBe('');
  });

  it('lets the stream guard block a NINO or a DNI before any part of it is sent, however it is cut', () => {
    const guards = new GuardSet(defaultGuardSettings);
    const texts: [string, string, string][] = [
      ['Your NI number is JG 10 37 28 D, keep it safe.', 'JG 10 37 28 D', 'nino'],
      ['Su DNI es 12.345.678-Z, gracias.', '12.345.678-Z', 'dni'],
    ];
    for (const [text, id, kind] of texts) {
      const [start] = span(text, id);
      const chunkings: string[][] = [Array.from({ length: text.length }, (_, i) => text.charAt(i))];
      for (let i = 1; i < text.length; i++) chunkings.push([text.slice(0, i), text.slice(i)]);
      for (const chunks of chunkings) {
        const guard = new OutputStreamGuard(guards, ctx());
        let out = '';
        let blocked: Finding | undefined;
        for (const c of chunks) {
          const step = guard.push(0, c);
          out += step.emit;
          blocked = step.blocked;
          if (blocked) break;
        }
        const label = JSON.stringify(chunks);
        expect(blocked, label).toMatchObject({ detector: 'financial-id', kind, action: 'block' });
        expect(text.slice(0, start).startsWith(out), `${label} sent ${out}`).toBe(true);
      }
    }
  });

  it('keeps redaction streamed equal to unstreamed when financial-id redacts', () => {
    const settings = parseGuardSettings({ detectors: { 'financial-id': { action: 'redact' } } });
    const guards = new GuardSet(settings);
    const c: GuardContext = { ...ctx(), settings };
    const text = 'NIE X-1234567-L or NINO JG103728D, ok';
    const whole = guards.scan(text, c).text;
    expect(whole).toBe('NIE [REDACTED:nie] or NINO [REDACTED:nino], ok');
    for (let i = 1; i < text.length; i++) {
      const guard = new OutputStreamGuard(guards, c);
      const a = guard.push(0, text.slice(0, i));
      const b = guard.push(0, text.slice(i));
      const e = guard.end(0);
      expect(a.emit + b.emit + e.emit, `cut at ${String(i)}`).toBe(whole);
    }
  });
});
