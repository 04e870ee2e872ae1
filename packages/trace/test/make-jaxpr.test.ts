import { describe, expect, it } from "vitest";
import { Literal, fromHost, np, newRef, slice, type Array, type Ref } from "@refs/core";
import { makeJaxpr, scan } from "../src/index.js";

describe("makeJaxpr", () => {
  it("prints a ref program with JAX's ref syntax", () => {
    const aRef = newRef(np.array([1, 2, 3], { dtype: "int32" }));
    const j = makeJaxpr(function increment(aRef: Ref) {
      aRef.set(aRef.get().add(1));
    })(aRef);
    expect(j.toString()).toBe(
      [
        "{ lambda ; a:Ref{int32[3]}. let",
        "    b:i32[3] <- a[...]",
        "    c:i32[3] = broadcast_in_dim[broadcast_dimensions=() shape=(3,)] 1:i32[]",
        "    d:i32[3] = add b c",
        "    a[...] <- d",
        "  in () }",
      ].join("\n"),
    );
    expect(j.jaxpr.eqns.map((e) => e.prim.name)).toEqual(["ref_get", "broadcast_in_dim", "add", "ref_swap"]);
    expect(String(j)).toBe(j.toString());
  });

  it("float16 scalars become literals holding their value (not the host's bits)", () => {
    // Host data only: the CPU backend has no float16, and staging runs nothing.
    const x = fromHost(Uint16Array.of(0x3c00, 0x4000), [2], "float16");
    const j = makeJaxpr((x: Array) => x.mul(2.5).add(np.array(-0.1, { dtype: "float16" })))(x);
    const lits = j.jaxpr.eqns.flatMap((e) => e.inputs).filter((a): a is Literal => a instanceof Literal);
    expect(lits.map((l) => [l.value, l.aval.dtype])).toEqual([
      [2.5, "float16"],
      [-0.0999755859375, "float16"],
    ]);
    expect(j.toString()).toContain("2.5:f16[]");
  });

  it("prints indexed reads, swaps whose old value is used, addupdate, and outputs", () => {
    const j = makeJaxpr((r: Ref, x: Array) => {
      const old = r.swap(x, 0);
      r.addUpdate(old, 1);
      return r.get(slice(1, 3));
    })(newRef(np.zeros([4])), np.array(1.5));
    const s = j.toString();
    expect(s).toContain("{ lambda ; a:Ref{float32[4]} b:f32[]. let");
    expect(s).toContain("c:f32[], a[0] <- a[0], b");
    expect(s).toContain("a[1] += c");
    expect(s).toMatch(/d:f32\[2\] <- a\[1:3\]/);
    expect(s).toMatch(/in \(d,\) \}$/);
  });

  it("prints closed-over refs as constants and sub-programs indented", () => {
    const counter = newRef(np.array(0, { dtype: "int32" }));
    const j = makeJaxpr((xs: Array) => {
      const [c, ys] = scan(
        (c: Array, x: Array) => {
          counter.addUpdate(1);
          return [c.add(x), x.mul(2)] as const;
        },
        np.array(0.5),
        xs,
      );
      return [c, ys];
    })(np.array([1.5, 2.5]));
    const s = j.toString();
    expect(s.startsWith("{ lambda a:Ref{int32[]}; b:f32[2]. let")).toBe(true);
    expect(s).toContain("scan[");
    expect(s).toMatch(/\n {6}body=\{ lambda ; /);
    expect(s).toMatch(/\n {10}[a-z]+\[\.\.\.\] \+= 1:i32\[\]\n/);
    expect(s).toMatch(/\n {8}in \([a-z]+, [a-z]+\) \}\n/);
    expect(s).toContain("[...] += ");
    expect(s).toMatch(/length=2/);
  });
});
