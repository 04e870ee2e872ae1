import { describe, expect, test } from "vitest";
import { np } from "../src/index.js";

const f = (shape: number[]) => np.zeros(shape);

describe("errors name the op and what it got", () => {
  test("matmul", () => {
    expect(() => np.matmul(f([10, 2]), f([3, 64]))).toThrow("matmul: contracting dimensions differ: float32[10,2] @ float32[3,64]");
    expect(() => np.matmul(f([3]), f([4]))).toThrow("matmul: contracting dimensions differ: float32[3] @ float32[4]");
    expect(() => np.matmul(f([2, 3, 4]), f([5, 4, 2]))).toThrow(/^matmul: shapes \(2,\), \(5,\) cannot be broadcast together/);
    expect(() => np.matmul(f([]), f([3]))).toThrow("matmul: operands must be at least 1-D (use multiply for scalars), got float32[] @ float32[3]");
    expect(() => f([2]).matmul(3)).toThrow(/^matmul: operands must be at least 1-D/);
  });
  test("dot / inner / tensordot", () => {
    expect(() => np.dot(f([2, 3]), f([4, 5]))).toThrow("dot: contracting dimensions differ: float32[2,3] and float32[4,5]");
    expect(() => np.inner(f([2, 3]), f([2]))).toThrow("inner: contracting dimensions differ: float32[2,3] and float32[2]");
    expect(() => np.tensordot(f([2, 3]), f([2, 3]), 1)).toThrow("tensordot: contracting dimensions differ: float32[2,3] axes [1] and float32[2,3] axes [0]");
    expect(() => np.tensordot(f([2]), f([2]), 2)).toThrow("tensordot: cannot contract 2 axes of float32[2] and float32[2]");
    expect(() => np.tensordot(f([2]), f([2]), [[0], [0, 0]])).toThrow("tensordot: axes lists must have equal lengths, got [0] and [0,0]");
  });
  test("broadcasting", () => {
    expect(() => np.add(f([3]), f([4]))).toThrow(
      "add: shapes (3,), (4,) cannot be broadcast together (axis -1 has sizes 3 and 4); make the sizes equal or 1",
    );
    expect(() => np.less(f([2, 3]), f([3, 2]))).toThrow(/^less: shapes \(2, 3\), \(3, 2\) cannot be broadcast together/);
    expect(() => np.broadcastTo(f([3]), [4])).toThrow("broadcastTo: cannot broadcast float32[3] to [4]; sizes must match or be 1 (aligned from the right)");
    expect(() => np.broadcastTo(f([2, 3]), [3])).toThrow("broadcastTo: cannot broadcast float32[2,3] to [3]: the target has fewer dimensions");
  });
  test("reshape", () => {
    expect(() => np.reshape(f([2, 3]), [4, 2])).toThrow("reshape: cannot reshape float32[2,3] (6 elements) to [4,2]");
    expect(() => np.reshape(f([2, 3]), [4, -1])).toThrow("reshape: cannot reshape float32[2,3] (6 elements) to [4,-1]");
    expect(() => np.reshape(f([2, 3]), [-1, -1])).toThrow("reshape: can only specify one unknown dimension (-1), got [-1,-1]");
    expect(() => np.reshape(f([2, 3]), [2, 1.5])).toThrow("reshape: invalid shape [2,1.5]: dimensions must be non-negative integers or -1");
  });
  test("axes", () => {
    expect(() => np.sum(f([2, 3]), 2)).toThrow("sum: axis 2 is out of bounds for an array of rank 2");
    expect(() => np.mean(f([2, 3]), -3)).toThrow("mean: axis -3 is out of bounds for an array of rank 2");
    expect(() => np.sum(f([2, 3]), [0, -2])).toThrow("sum: repeated axis in [0, -2]");
    expect(() => np.sum(f([2]), "0" as unknown as number)).toThrow('sum: axis must be a number, an array of numbers or null, got "0"');
    expect(() => np.argmax(f([2, 3]), 5)).toThrow("argmax: axis 5 is out of bounds for an array of rank 2");
    expect(() => np.argmax(f([2, 3]), { axis: [0, 1] })).toThrow("argmax: axis must be a single number or null, got a JS array");
    expect(() => np.transpose(f([2, 3]), [0, 0])).toThrow("transpose: axes [0,0] are not a permutation of the axes of float32[2,3]");
    expect(() => np.transpose(f([2, 3]), [0])).toThrow("transpose: axes [0] are not a permutation of the axes of float32[2,3]");
    expect(() => np.squeeze(f([2, 3]), 0)).toThrow("squeeze: cannot squeeze axis 0 of float32[2,3]: its size is 2, not 1");
    expect(() => np.expandDims(f([2]), 3)).toThrow("expandDims: axis 3 is out of bounds for an array of rank 2");
    expect(() => np.swapaxes(f([2]), 0, 1)).toThrow("swapaxes: axis 1 is out of bounds for an array of rank 1");
    expect(() => np.moveaxis(f([2, 3]), [0, 1], [0])).toThrow("moveaxis: source and destination must have the same number of axes, got [0,1] and [0]");
    expect(() => np.flip(f([2]), 1)).toThrow("flip: axis 1 is out of bounds for an array of rank 1");
    expect(() => np.cumsum(f([2]), 1)).toThrow("cumsum: axis 1 is out of bounds for an array of rank 1");
    expect(() => np.take(f([2]), 0, 1)).toThrow("take: axis 1 is out of bounds for an array of rank 1");
  });
  test("reductions on empty axes", () => {
    expect(() => np.max(f([0, 3]), 0)).toThrow("max: zero-size array to reduction operation max which has no identity (float32[0,3], axis 0)");
    expect(() => np.min(f([0]))).toThrow("min: zero-size array to reduction operation min which has no identity (float32[0], axis 0)");
    expect(() => np.argmax(f([0]))).toThrow("argmax: attempt to get argmax of an empty sequence (float32[0])");
    expect(() => np.var(f([2]), { ddof: "1" as unknown as number })).toThrow('var: ddof must be a number, got "1"');
  });
  test("dtypes", () => {
    expect(() => np.astype(f([2]), "float64" as never)).toThrow('astype: unsupported dtype "float64"; expected one of float32, int32, uint32, bool, float16');
    expect(() => np.zeros([2], { dtype: "int64" as never })).toThrow('zeros: unsupported dtype "int64"');
    expect(() => np.array([1], { dtype: "float64" as never })).toThrow('array: unsupported dtype "float64"');
    expect(() => np.sum(f([2]), { dtype: "x" as never })).toThrow('sum: unsupported dtype "x"');
    expect(() => np.convertElementType(f([2]), "f32" as never)).toThrow('convertElementType: unsupported dtype "f32"');
    expect(() => np.iota("int8" as never, [2], 0)).toThrow('iota: unsupported dtype "int8"');
    const b = np.array([true, false]);
    expect(() => np.subtract(b, b)).toThrow("subtract: expected a numeric dtype, got bool[2]");
    expect(() => np.negative(b)).toThrow("negative: expected a numeric dtype, got bool[2]");
    expect(() => np.sign(b)).toThrow("sign: expected a numeric dtype, got bool[2]");
    expect(() => np.floorDivide(b, b)).toThrow("floorDivide: expected a numeric dtype, got bool[2]");
    expect(() => np.mod(b, b)).toThrow("mod: expected a numeric dtype, got bool[2]");
    expect(() => np.power(b, b)).toThrow("power: expected a numeric dtype, got bool[2]");
    expect(() => np.bitwiseAnd(f([2]), 1)).toThrow("bitwiseAnd: expected an integer or boolean dtype, got float32[2]");
    expect(() => np.bitwiseNot(f([2]))).toThrow("bitwiseNot: expected an integer or boolean dtype, got float32[2]");
    expect(() => np.leftShift(b, b)).toThrow("leftShift: expected an integer dtype, got bool[2]");
    expect(() => np.rightShift(f([1]), 1)).toThrow("rightShift: expected an integer dtype, got float32[1]");
    expect(() => np.power(np.array([2]), -2)).toThrow("power: integers to negative integer powers are not allowed (int32[1] ** -2)");
    expect(() => np.take(f([3]), np.array([0.5]))).toThrow("take: indices must be an integer array, got float32[1]");
    expect(() => np.bitcastConvertType(np.array([true]), "int32")).toThrow(
      "bitcastConvertType: cannot bitcast bool[1] to int32: item sizes differ (1 and 4 bytes)",
    );
    expect(() => np.arange(3, { dtype: "bool" })).toThrow("arange: expected a numeric dtype, got bool");
    expect(() => np.array([1]).add(2 ** 31)).toThrow("add: the JS number 2147483648 is out of range for int32 (-2147483648 to 2147483647)");
  });
  test("bad arguments", () => {
    expect(() => np.add([1, 2] as never, 1)).toThrow("add: expected an Array, a number or a boolean, got a JS array; wrap JS arrays with np.array(...)");
    expect(() => np.exp("1" as never)).toThrow('exp: expected an Array, a number or a boolean, got "1"');
    expect(() => np.sum(null as never)).toThrow("sum: expected an Array, a number or a boolean, got null");
    expect(() => np.where(true, 1, undefined as never)).toThrow(
      "where: expected three arguments where(cond, x, y); the one-argument form is not supported",
    );
  });
  test("array() input", () => {
    expect(() => np.array([[1, 2, 3], [4, 5]])).toThrow(
      "array: ragged nested list: the element at [1] is a list of length 2, expected a list of length 3 (like the element at [0]); all sublists at one depth must have equal lengths",
    );
    expect(() => np.array([[1, 2], 3])).toThrow(/^array: ragged nested list: the element at \[1\] is a number, expected a list of length 2/);
    expect(() => np.array([1, [2]])).toThrow(
      "array: ragged nested list: the element at [1] is a list of length 1, expected a number or boolean (like the element at [0])",
    );
    expect(() => np.array([[[1], [2]], [[3], [4, 5]]])).toThrow(/^array: ragged nested list: the element at \[1,1\] is a list of length 2, expected a list of length 1/);
    expect(() => np.array([1, "2"] as never)).toThrow('array: unsupported element at [1]: "2"; expected numbers, booleans or Arrays');
    expect(() => np.array([np.zeros([2]), np.zeros([3])])).toThrow(
      "array: ragged nested list: Array elements have different shapes, float32[2] and float32[3]",
    );
    expect(() => np.array([1, 3e9])).toThrow(
      'array: the integer 3000000000 is out of range for int32 (the default for integer lists); pass {dtype: "uint32"} or {dtype: "float32"}',
    );
    expect(() => np.array(new Uint8Array([1]))).toThrow('array: a Uint8Array needs an explicit dtype, e.g. {dtype: "bool"} for a mask, or {dtype: "int32"}');
    expect(() => np.array(new Int16Array([1]) as never)).toThrow('array: a Int16Array needs an explicit dtype, e.g. {dtype: "int32"} or {dtype: "float32"}');
    expect(() => np.array(new BigInt64Array([1n]) as never)).toThrow("array: BigInt typed arrays are not supported; convert to Int32Array or Float32Array");
    expect(() => np.array("abc" as never)).toThrow('array: cannot make an array from "abc"');
    expect(() => np.array([1], "float32" as never)).toThrow('array: expected an options object like {dtype: "float32"}, got "float32"');
  });
  test("creation", () => {
    expect(() => np.zeros([2, -1])).toThrow("zeros: invalid shape [2,-1]: dimensions must be non-negative integers");
    expect(() => np.ones([1.5])).toThrow("ones: invalid shape [1.5]: dimensions must be non-negative integers");
    expect(() => np.full([2], "x" as never)).toThrow('full: the fill value must be a number, a boolean or an Array, got "x"');
    expect(() => np.full([2], np.zeros([3]))).toThrow("full: cannot broadcast float32[3] to [2]; sizes must match or be 1 (aligned from the right)");
    expect(() => np.fullLike(f([2]), np.zeros([3]))).toThrow("fullLike: cannot broadcast float32[3] to [2]");
    expect(() => np.fullLike(f([2]), null as never)).toThrow("fullLike: the fill value must be a number, a boolean or an Array, got null");
    expect(() => np.arange(0, 5, 0)).toThrow("arange: step must not be zero");
    expect(() => np.arange(0, Infinity)).toThrow("arange: arguments must be finite, got (0, Infinity)");
    expect(() => np.arange("3" as never)).toThrow('arange: start, stop and step must be JS numbers, got "3"');
    expect(() => np.arange(0, { dtype: "int32" }, 3 as never)).toThrow("arange: the options object must come last, got number 3 after it");
    expect(() => np.linspace(0, 1, -1)).toThrow("linspace: num must be a non-negative integer, got number -1");
    expect(() => np.linspace("0" as never, 1)).toThrow('linspace: start and stop must be JS numbers, got "0" and number 1');
    expect(() => np.eye(2, { k: 0.5 })).toThrow("eye: k must be an integer, got number 0.5");
    expect(() => np.eye(-1)).toThrow("eye: invalid shape [-1,-1]: dimensions must be non-negative integers");
    expect(() => np.iota("int32", [2, 2], 2)).toThrow("iota: dimension 2 is out of range for shape [2,2]");
  });
  test("joining and splitting", () => {
    expect(() => np.concatenate([])).toThrow("concatenate: need at least one array to concatenate");
    expect(() => np.concatenate(f([2]) as never)).toThrow("concatenate: expected a list of arrays, got float32[2]");
    expect(() => np.concatenate([np.array(1), np.array(2)])).toThrow(
      "concatenate: zero-dimensional arrays cannot be concatenated, got int32[], int32[]",
    );
    expect(() => np.concatenate([f([2, 3]), f([2, 4])])).toThrow(
      "concatenate: all input array dimensions except for the concatenation axis 0 must match exactly, got float32[2,3] and float32[2,4]",
    );
    expect(() => np.concatenate([f([2, 3]), f([3])], 0)).toThrow(/^concatenate: all input array dimensions/);
    expect(() => np.concatenate([f([2]), f([2])], 1)).toThrow("concatenate: axis 1 is out of bounds for an array of rank 1");
    expect(() => np.stack([])).toThrow("stack: need at least one array to stack");
    expect(() => np.stack([f([2]), f([3])])).toThrow("stack: all input arrays must have the same shape, got float32[2] and float32[3]");
    expect(() => np.stack([f([2])], 2)).toThrow("stack: axis 2 is out of bounds for an array of rank 2");
    expect(() => np.split(f([5]), 2)).toThrow("split: cannot split axis 0 of float32[5] into 2 equal sections");
  });
});
