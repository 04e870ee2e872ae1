/**
 * A small checker for the StableHLO text lowerToStableHlo prints (no MLIR
 * parser is available from npm). It checks, line by line with MLIR's scoping:
 * balanced brackets; known op names; every SSA value defined once and before
 * use (regions see enclosing values, functions are isolated); operand types
 * against the op's type signature; result counts; return types against the
 * function signature; func.call against the callee's signature; and the shape
 * of attribute values in generic ops.
 */

const KNOWN_OPS = new Set(
  [
    "constant", "broadcast_in_dim", "add", "subtract", "multiply", "divide", "remainder", "power", "maximum", "minimum",
    "and", "or", "xor", "not", "shift_left", "shift_right_logical", "shift_right_arithmetic", "compare", "select",
    "convert", "bitcast_convert", "exponential", "log", "log_plus_one", "exponential_minus_one", "sqrt", "rsqrt",
    "tanh", "logistic", "sine", "cosine", "abs", "sign", "floor", "ceil", "round_nearest_afz", "is_finite", "atan2",
    "negate", "iota", "reshape", "transpose", "slice", "pad", "concatenate", "reverse", "reduce", "dot_general",
    "gather", "scatter", "dynamic_slice", "dynamic_update_slice", "sort", "reduce_window", "while", "case", "clamp",
    "return", "custom_call",
  ].map((n) => `stablehlo.${n}`),
);
KNOWN_OPS.add("chlo.erf");
KNOWN_OPS.add("chlo.erf_inv");
KNOWN_OPS.add("func.call");
KNOWN_OPS.add("return");

const TYPE = /^tensor<(?:\d+x)*(?:f32|f16|i32|ui32|i1|i64)>$/;
const ATTR_VALUE = [
  /^array<i64(?:: -?\d+(?:, -?\d+)*)?>$/,
  /^-?\d+ : i(?:32|64)$/,
  /^(?:true|false)$/,
  /^"[^"]*"$/,
  /^dense<[^<>]*> : tensor<(?:\d+x)*i64>$/,
  /^#stablehlo\.(?:gather|scatter|dot)<(?:[a-z_]+ = (?:\[(?:\d+(?:, \d+)*)?\]|\d+)(?:, [a-z_]+ = (?:\[(?:\d+(?:, \d+)*)?\]|\d+))*)?>$/,
];

export interface CheckResult {
  errors: string[];
}

interface Frame {
  defs: string[];
  nres: number;
  name: string;
  operands: string[];
  line: number;
}

/** Split on commas at bracket depth 0. */
function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = "";
  let inStr = false;
  for (const ch of s) {
    if (ch === '"') inStr = !inStr;
    if (!inStr) {
      if ("([{<".includes(ch)) depth++;
      else if (")]}>".includes(ch) && !(ch === ">" && cur.endsWith("-"))) depth--;
    }
    if (ch === "," && depth === 0 && !inStr) {
      out.push(cur.trim());
      cur = "";
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

/** Index of the last " : " at bracket depth 0 (the type signature of an op). */
function sigSplit(s: string): number {
  let depth = 0;
  let inStr = false;
  let last = -1;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (ch === '"') inStr = !inStr;
    if (inStr) continue;
    if ("([{<".includes(ch)) depth++;
    else if (")]}>".includes(ch) && !(ch === ">" && s[i - 1] === "-")) depth--;
    else if (depth === 0 && s.startsWith(" : ", i)) last = i;
  }
  return last;
}

/** Parse `(A, B) -> R` or `(A) -> (R1, R2)` or a plain type list. */
function parseSig(sig: string): { ins: string[] | null; outs: string[] } {
  const m = /^\((.*)\) -> (.*)$/.exec(sig);
  if (m) {
    const ins = m[1]!.trim() ? splitTop(m[1]!) : [];
    let o = m[2]!.trim();
    const outs = o.startsWith("(") ? (o.slice(1, -1).trim() ? splitTop(o.slice(1, -1)) : []) : [o];
    return { ins, outs };
  }
  return { ins: null, outs: splitTop(sig) };
}


/** `func.func VIS @name(ARGS)[ -> RESULTS] {`, with ARGS found by bracket matching. */
function parseFuncHeader(l: string): { name: string; args: string; results: string } | null {
  const m = /^\s*func\.func (?:public|private) @([\w$.]+)\(/.exec(l);
  if (!m || !l.endsWith(" {")) return null;
  let depth = 1;
  let i = m[0].length;
  for (; i < l.length && depth > 0; i++) {
    const ch = l[i]!;
    if (ch === "(" || ch === "{" || ch === "<" || ch === "[") depth++;
    else if (ch === ")" || ch === "}" || ch === "]" || (ch === ">" && l[i - 1] !== "-")) depth--;
  }
  const args = l.slice(m[0].length, i - 1);
  const tail = l.slice(i, -2);
  if (tail !== "" && !tail.startsWith(" -> ")) return null;
  return { name: m[1]!, args, results: tail.slice(4) };
}


export function checkStableHlo(text: string): string[] {
  const errors: string[] = [];
  const lines = text.split("\n");
  // Balanced brackets over the whole text (strings excluded).
  {
    const stack: string[] = [];
    const pairs: Record<string, string> = { ")": "(", "]": "[", "}": "{", ">": "<" };
    let inStr = false;
    for (let i = 0; i < text.length; i++) {
      const ch = text[i]!;
      if (ch === '"') inStr = !inStr;
      if (inStr) continue;
      if ("([{<".includes(ch)) stack.push(ch);
      else if (")]}>".includes(ch)) {
        if (ch === ">" && text[i - 1] === "-") continue;
        if (stack.pop() !== pairs[ch]) {
          errors.push(`unbalanced ${ch} at offset ${i}`);
          return errors;
        }
      }
    }
    if (stack.length) errors.push(`unclosed ${stack.join("")}`);
    if (inStr) errors.push("unterminated string");
  }

  // Pass 1: function signatures.
  const funcs = new Map<string, { ins: string[]; outs: string[] }>();
  for (const l of lines) {
    const h = parseFuncHeader(l);
    if (!h) continue;
    const m = [l, h.name, h.args, h.results] as const;
    const ins = m[2].trim() ? splitTop(m[2]).map((a) => a.replace(/^%\w+: /, "").replace(/ \{.*\}$/, "")) : [];
    const r = m[3];
    const outs = r === "" ? [] : r.startsWith("(") ? splitTop(r.slice(1, -1)).map((t) => t.replace(/ \{.*\}$/, "")) : [r];
    if (funcs.has(m[1]!)) errors.push(`duplicate function @${m[1]}`);
    funcs.set(m[1]!, { ins, outs });
  }

  // Pass 2: SSA and types.
  let scopes: Map<string, string>[] = [];
  const ops: Frame[] = [];
  let funcOuts: string[] = [];
  const typeOf = (use: string, ln: number): string | undefined => {
    const [base, idx] = use.split("#") as [string, string | undefined];
    for (let k = scopes.length - 1; k >= 0; k--) {
      const t = scopes[k]!.get(idx === undefined ? base : `${base}#${idx}`);
      if (t !== undefined) return t;
      if (idx === undefined && scopes[k]!.has(`${base}:multi`)) {
        errors.push(`line ${ln}: ${use} names a multi-result op; use ${use}#i`);
        return undefined;
      }
    }
    errors.push(`line ${ln}: ${use} used before it is defined`);
    return undefined;
  };
  const define = (name: string, t: string, ln: number) => {
    if (!TYPE.test(t)) errors.push(`line ${ln}: bad type ${t}`);
    for (const s of scopes) if (s.has(name)) errors.push(`line ${ln}: redefinition of ${name}`);
    scopes[scopes.length - 1]!.set(name, t);
  };
  const defineResults = (defs: string[], types: string[], ln: number) => {
    if (defs.length !== types.length) errors.push(`line ${ln}: ${defs.length} results but ${types.length} result types`);
    if (defs.length === 1) define(defs[0]!, types[0]!, ln);
    else if (defs.length > 1) {
      const base = defs[0]!.split("#")[0]!;
      scopes[scopes.length - 1]!.set(`${base}:multi`, "");
      defs.forEach((d, i) => define(d, types[i]!, ln));
    }
  };
  const checkOperands = (operands: string[], sig: { ins: string[] | null; outs: string[] }, name: string, ln: number) => {
    const types = operands.map((o) => typeOf(o, ln));
    if (sig.ins !== null) {
      if (sig.ins.length !== operands.length) errors.push(`line ${ln}: ${name} has ${operands.length} operands but ${sig.ins.length} operand types`);
      types.forEach((t, i) => {
        if (t !== undefined && sig.ins![i] !== undefined && t !== sig.ins![i]) errors.push(`line ${ln}: ${name} operand ${operands[i]} is ${t}, signature says ${sig.ins![i]}`);
      });
    } else if (name === "stablehlo.select") {
      const [tp, tv] = sig.outs;
      if (types[0] !== undefined && types[0] !== tp) errors.push(`line ${ln}: select predicate is ${types[0]}, signature says ${tp}`);
      for (const t of types.slice(1)) if (t !== undefined && t !== tv) errors.push(`line ${ln}: select operand is ${t}, signature says ${tv}`);
    } else if (sig.outs.length === 1) {
      for (const t of types) if (t !== undefined && t !== sig.outs[0]) errors.push(`line ${ln}: ${name} operand is ${t}, signature says ${sig.outs[0]}`);
    } else if (sig.outs.length === operands.length) {
      types.forEach((t, i) => {
        if (t !== undefined && t !== sig.outs[i]) errors.push(`line ${ln}: ${name} operand ${i} is ${t}, signature says ${sig.outs[i]}`);
      });
    } else errors.push(`line ${ln}: cannot match operands of ${name} with its types`);
  };
  const checkAttrs = (attrs: string, ln: number) => {
    for (const kv of splitTop(attrs)) {
      const m = /^([a-z_.]+) = (.*)$/.exec(kv);
      if (!m) errors.push(`line ${ln}: bad attribute ${kv}`);
      else if (!ATTR_VALUE.some((r) => r.test(m[2]!))) errors.push(`line ${ln}: bad attribute value ${kv}`);
    }
  };
  const resultTypes = (name: string, sig: { ins: string[] | null; outs: string[] }): string[] =>
    sig.ins !== null ? sig.outs : name === "stablehlo.select" ? [sig.outs[1]!] : [sig.outs[sig.outs.length - 1]!];

  lines.forEach((raw, i) => {
    const ln = i + 1;
    const l = raw.trim();
    if (l === "" ) return;
    if (/^module @[\w$.]+ attributes \{.*\} \{$/.test(l)) {
      scopes = [];
      return;
    }
    const h = parseFuncHeader(l);
    if (l.startsWith("func.func") && !h) errors.push(`line ${ln}: bad function header`);
    if (h) {
      scopes = [new Map()]; // isolated from above
      for (const a of h.args.trim() ? splitTop(h.args) : []) {
        const am = /^(%[\w$.]+): (tensor<[^>]*>)(?: \{([^}]*)\})?$/.exec(a);
        if (!am) errors.push(`line ${ln}: bad argument ${a}`);
        else {
          define(am[1]!, am[2]!, ln);
          if (am[3] !== undefined) checkAttrs(am[3], ln);
        }
      }
      funcOuts = funcs.get(h.name)!.outs;
      return;
    }
    let m: RegExpExecArray | null;
    if (l === "}") {
      if (ops.length) errors.push(`line ${ln}: region not closed with })`);
      scopes = [];
      return;
    }
    if (l === "}, {") {
      scopes.pop();
      scopes.push(new Map());
      return;
    }
    m = /^\^bb0\((.*)\):$/.exec(l);
    if (m) {
      for (const a of splitTop(m[1]!)) {
        const am = /^(%[\w$.]+): (tensor<[^>]*>)$/.exec(a);
        if (!am) errors.push(`line ${ln}: bad block argument ${a}`);
        else define(am[1]!, am[2]!, ln);
      }
      return;
    }
    if (l.startsWith("})")) {
      const fr = ops.pop();
      scopes.pop();
      if (!fr) {
        errors.push(`line ${ln}: }) without an open region op`);
        return;
      }
      const rest = l.slice(2);
      const k = sigSplit(rest);
      const sig = parseSig(rest.slice(k + 3));
      const attrs = rest.slice(0, k).trim();
      if (attrs) {
        if (!attrs.startsWith("{") || !attrs.endsWith("}")) errors.push(`line ${ln}: bad attributes ${attrs}`);
        else checkAttrs(attrs.slice(1, -1), ln);
      }
      if (sig.ins === null) errors.push(`line ${ln}: region op needs a function type`);
      checkOperands(fr.operands, sig, fr.name, fr.line);
      defineResults(fr.defs, sig.outs, ln);
      return;
    }
    if (scopes.length === 0) {
      errors.push(`line ${ln}: op outside a function: ${l}`);
      return;
    }
    // An op: [defs = ] body
    let defs: string[] = [];
    let body = l;
    m = /^(%[\w$.]+)(?::(\d+))? = (.*)$/.exec(l);
    if (m) {
      const n = m[2] ? Number(m[2]) : 1;
      defs = n === 1 ? [m[1]!] : Array.from({ length: n }, (_, j) => `${m![1]}#${j}`);
      body = m[3]!;
    }
    // Generic form with regions opening here.
    m = /^"([\w.]+)"\((.*)\) \(\{$/.exec(body);
    if (m) {
      if (!KNOWN_OPS.has(m[1]!)) errors.push(`line ${ln}: unknown op ${m[1]}`);
      const operands = m[2]!.trim() ? splitTop(m[2]!) : [];
      for (const o of operands) if (!/^%[\w$.]+(?:#\d+)?$/.test(o)) errors.push(`line ${ln}: bad operand ${o}`);
      for (const o of operands) typeOf(o, ln);
      ops.push({ defs, nres: defs.length, name: m[1]!, operands, line: ln });
      scopes.push(new Map());
      return;
    }
    // Generic form without regions.
    m = /^"([\w.]+)"\(([^)]*)\)(?: \{(.*)\})? : (.*)$/.exec(body);
    if (m) {
      if (!KNOWN_OPS.has(m[1]!)) errors.push(`line ${ln}: unknown op ${m[1]}`);
      const operands = m[2]!.trim() ? splitTop(m[2]!) : [];
      if (m[3] !== undefined) checkAttrs(m[3], ln);
      const sig = parseSig(m[4]!);
      if (sig.ins === null) errors.push(`line ${ln}: generic op needs a function type`);
      checkOperands(operands, sig, m[1]!, ln);
      if (m[1] === "stablehlo.return") {
        if (defs.length) errors.push(`line ${ln}: return has results`);
      } else defineResults(defs, sig.outs, ln);
      return;
    }
    // Pretty forms.
    m = /^([a-z_]+(?:\.[a-z_0-9]+)?)((?: |\().*)?$/.exec(body);
    if (!m) {
      errors.push(`line ${ln}: cannot parse ${l}`);
      return;
    }
    const name = m[1]!;
    const rest = (m[2] ?? "").replace(/^ /, "");
    if (!KNOWN_OPS.has(name)) errors.push(`line ${ln}: unknown op ${name}`);
    if (name === "return" || name === "stablehlo.return") {
      if (defs.length) errors.push(`line ${ln}: return has results`);
      const k = sigSplit(` ${rest}`);
      const operands = k < 0 ? [] : splitTop(` ${rest}`.slice(0, k));
      const types = k < 0 ? [] : splitTop(` ${rest}`.slice(k + 3));
      checkOperands(operands, { ins: types, outs: [] }, name, ln);
      if (name === "return" && types.join(",") !== funcOuts.join(",")) errors.push(`line ${ln}: return types ${types} differ from the function's ${funcOuts}`);
      return;
    }
    const k = sigSplit(rest);
    if (k < 0) {
      errors.push(`line ${ln}: no type signature: ${l}`);
      return;
    }
    const sig = parseSig(rest.slice(k + 3));
    const pre = rest.slice(0, k);
    if (name === "stablehlo.constant") {
      if (!/^dense<(?:-?\d+|true|false|-?\d\.\d{6}e[+-]\d\d|0x[0-9A-F]{4}|0x[0-9A-F]{8})>$/.test(pre.split(" : ")[0]!.trim()))
        errors.push(`line ${ln}: bad constant ${pre}`);
      const ct = pre.split(" : ")[1];
      if (ct !== undefined && ct !== sig.outs[0]) errors.push(`line ${ln}: constant type mismatch`);
      defineResults(defs, sig.outs, ln);
      return;
    }
    if (name === "func.call") {
      const cm = /^@([\w$.]+)\((.*)\)$/.exec(pre.trim());
      if (!cm) {
        errors.push(`line ${ln}: bad call ${pre}`);
        return;
      }
      const callee = funcs.get(cm[1]!);
      if (!callee) errors.push(`line ${ln}: call of unknown function @${cm[1]}`);
      else if (sig.ins?.join(",") !== callee.ins.join(",") || sig.outs.join(",") !== callee.outs.join(","))
        errors.push(`line ${ln}: call type differs from @${cm[1]}'s signature`);
      checkOperands(cm[2]!.trim() ? splitTop(cm[2]!) : [], sig, name, ln);
      defineResults(defs, sig.outs, ln);
      return;
    }
    // Collect operands of the pretty form: the leading %uses (reduce: `(%x init: %y)`).
    let operands: string[];
    if (name === "stablehlo.reduce") {
      const rm = /^\((%\S+) init: (%\S+)\) applies stablehlo\.(\w+) across dimensions = \[[\d, ]*\]$/.exec(pre.trim());
      if (!rm) {
        errors.push(`line ${ln}: bad reduce ${pre}`);
        return;
      }
      operands = [rm[1]!, rm[2]!];
    } else if (name === "stablehlo.compare") {
      const cm = /^ (EQ|NE|LT|LE|GT|GE), (%\S+), (%\S+),  (FLOAT|SIGNED|UNSIGNED|TOTALORDER)$/.exec(pre);
      if (!cm) {
        errors.push(`line ${ln}: bad compare ${pre}`);
        return;
      }
      operands = [cm[2]!, cm[3]!];
    } else {
      const parts = pre.trim() ? splitTop(pre) : [];
      operands = [];
      for (const p of parts) {
        if (/^%[\w$.]+(?:#\d+)?$/.test(p)) operands.push(p);
        else if (!/^(?:dims|dim) = (?:\[[\d, ]*\]|\d+)$/.test(p) && !/^(?:batching_dims|contracting_dims) = \[[\d, ]*\] x \[[\d, ]*\]$/.test(p))
          errors.push(`line ${ln}: bad operand or attribute ${p}`);
      }
    }
    checkOperands(operands, sig, name, ln);
    defineResults(defs, resultTypes(name, sig), ln);
  });
  if (ops.length) errors.push("unclosed region op");
  return errors;
}
