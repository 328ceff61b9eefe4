import { incidentClasses, severities, type Incident, type IncidentClass, type Severity } from './incident.js';
import {
  conflict,
  invalid,
  nonBlank,
  opt,
  refuseClosed,
  type Change,
  type Stamp,
} from './lifecycle-change.js';

/** An incident's class and severity: parsed from input, set by triage (lifecycle.ts), changed by `classify`. */

export function checkClass(value: string): IncidentClass {
  if (!(incidentClasses as readonly string[]).includes(value))
    throw invalid(`class "${value}" is not one of ${incidentClasses.join(' | ')}`, 'class');
  return value as IncidentClass;
}

export function checkSeverity(value: string): Severity {
  if (!(severities as readonly string[]).includes(value))
    throw invalid(`severity "${value}" is not one of ${severities.join(' | ')}`, 'severity');
  return value as Severity;
}

/** For input from the API and CLI: the string as an incident class, or a validation_failed error. */
export function parseIncidentClass(text: string): IncidentClass {
  return checkClass(text);
}

export function parseSeverity(text: string): Severity {
  return checkSeverity(text);
}

export interface ClassifyArgs extends Stamp {
  readonly class?: IncidentClass;
  readonly severity?: Severity;
  readonly reason?: string;
}

/** Changes class and/or severity of an open incident (an upgrade when in doubt, a downgrade with care). */
export function classify<T extends Incident>(incident: T, args: ClassifyArgs): Change<T> {
  refuseClosed(incident);
  if (args.class === undefined && args.severity === undefined)
    throw invalid(`give a class or a severity to change on ${incident.id}`, 'class');
  const cls = args.class !== undefined ? checkClass(args.class) : incident.class;
  const severity = args.severity !== undefined ? checkSeverity(args.severity) : incident.severity;
  if (cls === incident.class && severity === incident.severity)
    throw conflict(`${incident.id} is already ${severity ?? 'without severity'} ${cls ?? 'unclassified'}`);
  return {
    incident: { ...incident, class: cls, severity },
    events: [
      {
        type: 'classification_change',
        at: args.at,
        actor: args.actor,
        from: { class: incident.class, severity: incident.severity },
        to: { class: cls, severity },
        ...opt('reason', nonBlank(args.reason) ? args.reason.trim() : undefined),
      },
    ],
  };
}
