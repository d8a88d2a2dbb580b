/**
 * HTTP trigger route templates, as the Functions host reads them (ASP.NET Core route syntax):
 * literal segments (matched case-insensitively), `{name}` parameters, constraints
 * `{id:guid}` / `{n:int:min(1)}`, optional parameters `{name?}`, defaults `{name=x}`, catch-all
 * `{*rest}`, and segments mixing literals and parameters (`{file}.{ext}`).
 */

export class RouteTemplateError extends Error {
  override readonly name = 'RouteTemplateError';
}

type Constraint = (value: string) => boolean;

interface ParameterPart {
  kind: 'parameter';
  name: string;
  optional: boolean;
  catchAll: boolean;
  defaultValue?: string;
  constraints: Constraint[];
}

interface LiteralPart {
  kind: 'literal';
  text: string;
}

type Part = ParameterPart | LiteralPart;

interface Segment {
  parts: Part[];
  /** ASP.NET inbound precedence digit: 1 literal, 2 mixed, 3 constrained parameter, 4 parameter, 5 catch-all. */
  precedence: number;
}

export interface RouteMatcher {
  readonly template: string;
  /** Segment precedence digits: a smaller value at the first difference is the more specific route. */
  readonly precedence: readonly number[];
  /** Route values when `pathSegments` (already percent-decoded) match, else undefined. */
  match(pathSegments: readonly string[]): Record<string, string> | undefined;
}

const int32 = (value: string): boolean =>
  /^-?\d+$/.test(value) && Number(value) >= -2147483648 && Number(value) <= 2147483647;
const int64 = (value: string): boolean => {
  if (!/^-?\d+$/.test(value)) return false;
  const n = BigInt(value);
  return n >= -9223372036854775808n && n <= 9223372036854775807n;
};
const decimalNumber = (value: string): boolean => /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(value);
const guidPattern =
  /^(?:[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}|\([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\))$/i;

function numberArgs(name: string, args: string | undefined, count: number[]): number[] {
  const values = (args ?? '').split(',').map((arg) => arg.trim());
  if (!count.includes(values.length) || values.some((value) => !/^-?\d+$/.test(value))) {
    throw new RouteTemplateError(
      `The route constraint "${name}" needs ${count.join(' or ')} integer argument(s), got "${args ?? ''}"`,
    );
  }
  return values.map(Number);
}

function buildConstraint(name: string, args: string | undefined): Constraint {
  switch (name.toLowerCase()) {
    case 'int':
      return int32;
    case 'long':
      return int64;
    case 'bool':
      return (value) => /^(true|false)$/i.test(value);
    case 'guid':
      return (value) => guidPattern.test(value);
    case 'datetime':
      return (value) => !Number.isNaN(Date.parse(value));
    case 'decimal':
    case 'double':
    case 'float':
      return decimalNumber;
    case 'alpha':
      return (value) => /^[a-z]*$/i.test(value);
    case 'required':
      return (value) => value.length > 0;
    case 'minlength': {
      const [min = 0] = numberArgs(name, args, [1]);
      return (value) => value.length >= min;
    }
    case 'maxlength': {
      const [max = 0] = numberArgs(name, args, [1]);
      return (value) => value.length <= max;
    }
    case 'length': {
      const [a = 0, b] = numberArgs(name, args, [1, 2]);
      return b === undefined ? (value) => value.length === a : (value) => value.length >= a && value.length <= b;
    }
    case 'min': {
      const [min = 0] = numberArgs(name, args, [1]);
      return (value) => int64(value) && BigInt(value) >= BigInt(min);
    }
    case 'max': {
      const [max = 0] = numberArgs(name, args, [1]);
      return (value) => int64(value) && BigInt(value) <= BigInt(max);
    }
    case 'range': {
      const [min = 0, max = 0] = numberArgs(name, args, [2]);
      return (value) => int64(value) && BigInt(value) >= BigInt(min) && BigInt(value) <= BigInt(max);
    }
    case 'regex': {
      if (args === undefined) throw new RouteTemplateError('The route constraint "regex" needs a pattern');
      let pattern: RegExp;
      try {
        pattern = new RegExp(args, 'i');
      } catch (error) {
        throw new RouteTemplateError(
          `The route constraint regex(${args}) is not a valid pattern: ${(error as Error).message}`,
        );
      }
      return (value) => pattern.test(value);
    }
    default:
      throw new RouteTemplateError(`Unknown route constraint "${name}"`);
  }
}

/** Splits `name:c1:c2(args)?=default` respecting parentheses (regex arguments may hold `:`). */
function parseParameter(body: string, template: string): ParameterPart {
  let rest = body;
  let catchAll = false;
  if (rest.startsWith('**')) {
    catchAll = true;
    rest = rest.slice(2);
  } else if (rest.startsWith('*')) {
    catchAll = true;
    rest = rest.slice(1);
  }
  const pieces: string[] = [];
  let current = '';
  let depth = 0;
  let defaultValue: string | undefined;
  for (let i = 0; i < rest.length; i += 1) {
    const ch = rest.charAt(i);
    if (ch === '(') depth += 1;
    if (ch === ')') depth -= 1;
    if (depth === 0 && ch === ':') {
      pieces.push(current);
      current = '';
    } else if (depth === 0 && ch === '=') {
      defaultValue = rest.slice(i + 1);
      break;
    } else {
      current += ch;
    }
  }
  pieces.push(current);
  let optional = false;
  const last = pieces.length - 1;
  if (pieces[last]?.endsWith('?')) {
    optional = true;
    pieces[last] = pieces[last].slice(0, -1);
  }
  if (defaultValue !== undefined) optional = true;
  const [name = '', ...constraintTexts] = pieces;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
    throw new RouteTemplateError(`Invalid parameter name "${name}" in route "${template}"`);
  const constraints = constraintTexts.map((text) => {
    const open = text.indexOf('(');
    if (open < 0) return buildConstraint(text, undefined);
    if (!text.endsWith(')'))
      throw new RouteTemplateError(`Unbalanced parentheses in constraint "${text}" of route "${template}"`);
    return buildConstraint(text.slice(0, open), text.slice(open + 1, -1));
  });
  return {
    kind: 'parameter',
    name,
    optional,
    catchAll,
    constraints,
    ...(defaultValue === undefined ? {} : { defaultValue }),
  };
}

function parseSegment(text: string, template: string): Segment {
  const parts: Part[] = [];
  let literal = '';
  let i = 0;
  while (i < text.length) {
    const ch = text.charAt(i);
    if (ch === '{' && text.charAt(i + 1) === '{') {
      literal += '{';
      i += 2;
    } else if (ch === '}' && text.charAt(i + 1) === '}') {
      literal += '}';
      i += 2;
    } else if (ch === '{') {
      // The parameter ends at the first `}` outside parentheses that is not a doubled `}}`.
      let depth = 0;
      let j = i + 1;
      let body = '';
      for (; j < text.length; j += 1) {
        const c = text.charAt(j);
        if (c === '}' && text.charAt(j + 1) === '}') {
          body += '}';
          j += 1;
          continue;
        }
        if (c === '{' && text.charAt(j + 1) === '{') {
          body += '{';
          j += 1;
          continue;
        }
        if (c === '(') depth += 1;
        if (c === ')') depth -= 1;
        if (c === '}' && depth <= 0) break;
        body += c;
      }
      if (j >= text.length) throw new RouteTemplateError(`Unclosed "{" in route "${template}"`);
      if (literal) parts.push({ kind: 'literal', text: literal });
      literal = '';
      parts.push(parseParameter(body, template));
      i = j + 1;
    } else if (ch === '}') {
      throw new RouteTemplateError(`Unmatched "}" in route "${template}"`);
    } else {
      literal += ch;
      i += 1;
    }
  }
  if (literal) parts.push({ kind: 'literal', text: literal });
  const parameters = parts.filter((part): part is ParameterPart => part.kind === 'parameter');
  if (parts.length > 1 && parameters.some((p) => p.catchAll))
    throw new RouteTemplateError(`A catch-all parameter must be a whole segment in route "${template}"`);
  let precedence: number;
  if (parameters.length === 0) precedence = 1;
  else if (parts.length > 1) precedence = 2;
  else if (parameters[0]?.catchAll) precedence = 5;
  else precedence = parameters[0]?.constraints.length ? 3 : 4;
  return { parts, precedence };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Matches one path segment against a (possibly mixed) template segment. */
function matchSegment(segment: Segment, value: string, values: Record<string, string>): boolean {
  const [only] = segment.parts;
  if (segment.parts.length === 1 && only) {
    if (only.kind === 'literal') return only.text.toLowerCase() === value.toLowerCase();
    if (value === '' || !only.constraints.every((check) => check(value))) return false;
    values[only.name] = value;
    return true;
  }
  // Mixed segment: literals anchor, parameters take the shortest text (ASP.NET matches right to left
  // with greedy earlier parameters; for the usual `{a}.{b}` both give the same answer).
  const source = segment.parts
    .map((part) => (part.kind === 'literal' ? escapeRegExp(part.text) : part.optional ? '(.*)' : '(.+)'))
    .join('');
  const found = new RegExp(`^${source}$`, 'i').exec(value);
  if (!found) return false;
  let group = 1;
  for (const part of segment.parts) {
    if (part.kind !== 'parameter') continue;
    const captured = found[group] ?? '';
    group += 1;
    if (captured === '') {
      if (!part.optional) return false;
      if (part.defaultValue !== undefined) values[part.name] = part.defaultValue;
      continue;
    }
    if (!part.constraints.every((check) => check(captured))) return false;
    values[part.name] = captured;
  }
  return true;
}

/** Parses a route template; throws RouteTemplateError for syntax it cannot serve. */
export function parseRoute(template: string): RouteMatcher {
  const trimmed = template.replace(/^\/+|\/+$/g, '');
  const segments = trimmed === '' ? [] : trimmed.split('/').map((text) => parseSegment(text, template));
  segments.forEach((segment, index) => {
    const only = segment.parts[0];
    if (only?.kind === 'parameter' && only.catchAll && index !== segments.length - 1) {
      throw new RouteTemplateError(`A catch-all parameter must be the last segment of route "${template}"`);
    }
  });
  const names = segments.flatMap((segment) =>
    segment.parts.flatMap((part) => (part.kind === 'parameter' ? [part.name.toLowerCase()] : [])),
  );
  const duplicate = names.find((name, index) => names.indexOf(name) !== index);
  if (duplicate) throw new RouteTemplateError(`The parameter "${duplicate}" appears twice in route "${template}"`);

  return {
    template,
    precedence: segments.map((segment) => segment.precedence),
    match(pathSegments) {
      const values: Record<string, string> = {};
      let index = 0;
      for (const segment of segments) {
        const only = segment.parts.length === 1 ? segment.parts[0] : undefined;
        if (only?.kind === 'parameter' && only.catchAll) {
          const rest = pathSegments.slice(index).join('/');
          if (rest === '') {
            if (only.defaultValue !== undefined) values[only.name] = only.defaultValue;
          } else {
            if (!only.constraints.every((check) => check(rest))) return undefined;
            values[only.name] = rest;
          }
          return values;
        }
        const value = pathSegments[index];
        if (value === undefined) {
          // Missing trailing segments are fine only when every remaining one is an optional parameter.
          if (only?.kind === 'parameter' && only.optional) {
            if (only.defaultValue !== undefined) values[only.name] = only.defaultValue;
            continue;
          }
          return undefined;
        }
        if (!matchSegment(segment, value, values)) return undefined;
        index += 1;
      }
      return index === pathSegments.length ? values : undefined;
    },
  };
}

/** Orders matchers most specific first (ASP.NET inbound precedence). */
export function compareRoutePrecedence(a: RouteMatcher, b: RouteMatcher): number {
  const length = Math.max(a.precedence.length, b.precedence.length);
  for (let i = 0; i < length; i += 1) {
    const difference = (a.precedence[i] ?? 0) - (b.precedence[i] ?? 0);
    if (difference !== 0) return difference;
  }
  return a.template.localeCompare(b.template);
}
