import { DFA, JS, NFA, TooManyNodesError, Transformers, transform } from 'refa';
import { ENTITY_ID_PATTERN, ENTITY_ID_RULE } from './score-layout';

/**
 * Is a feature contract's `entity.pattern` no wider than the ids the score store, the loader and the read API accept
 * (ENTITY_ID_PATTERN)? Decided on the regular languages (refa builds the automata), not by comparing texts: a
 * different but narrower pattern (`^C\d{6}$`) passes, a wider one is refused with an id it would let through.
 *
 * Imported by `cdk synth` only (lib/feature-contract.ts), so refa stays out of the Lambda bundles; the Lambdas run
 * the contract that synth checked (they bundle the same file).
 */

/** Automata past this size are refused as too complex to check (a contract pattern is a short id rule). */
const MAX_NODES = 20_000;
/** The validator and the store test ids with `new RegExp(pattern)` (no flags): UTF-16 code units. */
const MAX_CHARACTER = 0xffff;

/** Ids `/pattern/.test(id)` accepts, as an automaton: a match anywhere unless the pattern anchors itself. */
function acceptedIds(pattern: string): NFA {
  const parser = JS.Parser.fromLiteral({ source: `[^]*(?:${pattern})[^]*`, flags: '' });
  const { expression } = parser.parse({ maxNodes: MAX_NODES });
  const simplified = transform(Transformers.simplify({ ignoreOrder: true, ignoreAmbiguity: true }), expression);
  // `^` and `$` left at the edges of a whole-string match always hold; refa drops them there.
  const edgeFree = transform(Transformers.patternEdgeAssertions({ remove: true }), simplified);
  return NFA.fromRegex(
    edgeFree,
    { maxCharacter: MAX_CHARACTER },
    { assertions: 'throw' },
    new NFA.LimitedNodeFactory(MAX_NODES),
  );
}

function storeIds(): NFA {
  const source = ENTITY_ID_PATTERN.source.replace(/^\^/, '').replace(/\$$/, '');
  const { expression } = JS.Parser.fromLiteral({ source, flags: '' }).parse();
  return NFA.fromRegex(expression, { maxCharacter: MAX_CHARACTER });
}

const printable = (word: readonly number[]): string => JSON.stringify(String.fromCharCode(...word));

/**
 * Why `pattern` is wider than the store's ids or cannot be checked, or undefined when every id it accepts is one the
 * store, the loader and the read API accept.
 */
export function entityPatternProblem(pattern: string): string | undefined {
  let ids: NFA;
  try {
    ids = acceptedIds(pattern);
  } catch (err) {
    const why = err instanceof TooManyNodesError ? 'it is too complex' : (err as Error).message;
    return `cannot be checked against the ids the score store accepts (${why}); write it as one anchored rule such as ^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$`;
  }
  const outside = DFA.fromFA(storeIds(), new DFA.LimitedNodeFactory(MAX_NODES));
  outside.complement();
  const wider = NFA.fromIntersection(ids, outside, new NFA.LimitedNodeFactory(MAX_NODES));
  if (wider.isEmpty) return undefined;
  let shown = '';
  for (const word of wider.words()) {
    shown = `, e.g. ${printable(word)}`;
    break;
  }
  return `accepts ids the score store, the loader and the read API refuse${shown}; expected a pattern within ${ENTITY_ID_PATTERN.source} (${ENTITY_ID_RULE})`;
}
