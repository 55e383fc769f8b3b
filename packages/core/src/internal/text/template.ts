// Campaign templates: `{{firstName}}` inserts a recipient variable, `{{firstName|friend}}` falls
// back to "friend" when it is missing. A template is parsed once per campaign and rendered per
// recipient by joining precomputed literals, so rendering a million recipients costs no parsing.

import { ValidationError } from '../errors.js';

export type TemplateVars = Readonly<Record<string, string | null | undefined>>;

export interface CompiledTemplate {
  /**
   * Renders for one recipient. A variable that is absent, null or blank takes its default, or
   * the empty string when it has none (a missing name must not block a send). Values are
   * inserted trimmed and are never themselves read as templates.
   */
  (vars?: TemplateVars): string;
  readonly source: string;
  /** The distinct variable names, in order of first use. */
  readonly variables: readonly string[];
}

interface Slot {
  name: string;
  fallback: string;
}

interface Parsed {
  literals: string[];
  slots: Slot[];
  problems: string[];
}

const OPEN = '{{';
const CLOSE = '}}';
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** What is wrong with the template, one message per problem; empty when it is well-formed. */
export function validateTemplate(text: string): string[] {
  return parse(text).problems;
}

/** Parses once; throws `ValidationError` with every problem, at `path`, when it is malformed. */
export function compileTemplate(
  text: string,
  path: (string | number)[] = ['text'],
): CompiledTemplate {
  const { literals, slots, problems } = parse(text);
  if (problems.length > 0)
    throw new ValidationError(problems.map((message) => ({ path, message })));
  const head = literals[0]!;
  const render =
    slots.length === 0
      ? () => head
      : (vars?: TemplateVars) => {
          let out = head;
          for (let i = 0; i < slots.length; i++) {
            const { name, fallback } = slots[i]!;
            // Own properties only: `{{constructor}}` must not print Object's source.
            const value = vars && Object.hasOwn(vars, name) ? vars[name]?.trim() : undefined;
            out += (value ? value : fallback) + literals[i + 1]!;
          }
          return out;
        };
  const variables = [...new Set(slots.map((slot) => slot.name))];
  return Object.assign(render, { source: text, variables });
}

function parse(text: string): Parsed {
  const literals: string[] = [];
  const slots: Slot[] = [];
  const problems: string[] = [];
  const problem = (at: number, message: string) =>
    problems.push(`${message} at character ${at + 1}`);

  let from = 0;
  while (true) {
    const open = text.indexOf(OPEN, from);
    const literalEnd = open === -1 ? text.length : open;
    const stray = text.indexOf(CLOSE, from);
    if (stray !== -1 && stray < literalEnd)
      problem(stray, `"${CLOSE}" without an opening "${OPEN}"`);
    literals.push(text.slice(from, literalEnd));
    if (open === -1) break;

    const close = text.indexOf(CLOSE, open + OPEN.length);
    const nested = text.indexOf(OPEN, open + OPEN.length);
    if (close === -1) {
      problem(open, `"${OPEN}" is never closed`);
      break;
    }
    if (nested !== -1 && nested < close) {
      problem(open, `"${OPEN}" is not closed before the next "${OPEN}"`);
      from = nested;
      continue;
    }

    const body = text.slice(open + OPEN.length, close);
    const bar = body.indexOf('|');
    const name = (bar === -1 ? body : body.slice(0, bar)).trim();
    const fallback = bar === -1 ? '' : body.slice(bar + 1).trim();
    if (name === '') problem(open, `empty variable "${OPEN}${body}${CLOSE}"`);
    else if (!VARIABLE_NAME.test(name)) problem(open, `invalid variable name "${name}"`);
    slots.push({ name, fallback });
    from = close + CLOSE.length;
  }
  return { literals, slots, problems };
}
