using MedDistill.Torch.Interop;

namespace MedDistill.Torch;

// Broadcasting elementwise arithmetic, comparisons and the in-place updates optimizers and initialisers use.
// Operator codes are those of mdt_binary in native/core.cpp.
public partial class Tensor
{
    private const int OpAdd = 0, OpSub = 1, OpMul = 2, OpDiv = 3, OpPow = 4, OpRemainder = 5, OpAtan2 = 6, OpMaximum = 7, OpMinimum = 8, OpFloorDiv = 9;
    private const int CmpEq = 0, CmpNe = 1, CmpLt = 2, CmpLe = 3, CmpGt = 4, CmpGe = 5;
    private static readonly Scalar One = 1;

    private Tensor Binary(Tensor other, int op, Scalar alpha) => new(Native.mdt_binary(Handle, other.Handle, op, alpha.Value));
    private Tensor Binary(Scalar other, int op, Scalar alpha) => new(Native.mdt_binary_scalar(Handle, other.Value, op, alpha.Value));
    private Tensor BinaryInPlace(Tensor other, int op, Scalar alpha) { Native.Check(Native.mdt_binary_(Handle, other.Handle, op, alpha.Value)); return this; }
    private Tensor BinaryInPlace(Scalar other, int op, Scalar alpha) { Native.Check(Native.mdt_binary_scalar_(Handle, other.Value, op, alpha.Value)); return this; }

    public Tensor add(Tensor other) => Binary(other, OpAdd, One);
    public Tensor add(Tensor other, Scalar alpha) => Binary(other, OpAdd, alpha);
    public Tensor add(Scalar other) => Binary(other, OpAdd, One);
    public Tensor sub(Tensor other) => Binary(other, OpSub, One);
    public Tensor sub(Tensor other, Scalar alpha) => Binary(other, OpSub, alpha);
    public Tensor sub(Scalar other) => Binary(other, OpSub, One);
    public Tensor mul(Tensor other) => Binary(other, OpMul, One);
    public Tensor mul(Scalar other) => Binary(other, OpMul, One);
    public Tensor div(Tensor other) => Binary(other, OpDiv, One);
    public Tensor div(Scalar other) => Binary(other, OpDiv, One);
    public Tensor pow(Tensor exponent) => Binary(exponent, OpPow, One);
    public Tensor pow(Scalar exponent) => Binary(exponent, OpPow, One);
    public Tensor remainder(Tensor other) => Binary(other, OpRemainder, One);
    public Tensor remainder(Scalar other) => Binary(other, OpRemainder, One);
    public Tensor floor_divide(Tensor other) => Binary(other, OpFloorDiv, One);
    public Tensor atan2(Tensor other) => Binary(other, OpAtan2, One);
    public Tensor maximum(Tensor other) => Binary(other, OpMaximum, One);
    public Tensor minimum(Tensor other) => Binary(other, OpMinimum, One);

    public Tensor add_(Tensor other) => BinaryInPlace(other, OpAdd, One);
    public Tensor add_(Tensor other, Scalar alpha) => BinaryInPlace(other, OpAdd, alpha);
    public Tensor add_(Scalar other) => BinaryInPlace(other, OpAdd, One);
    public Tensor sub_(Tensor other) => BinaryInPlace(other, OpSub, One);
    public Tensor sub_(Tensor other, Scalar alpha) => BinaryInPlace(other, OpSub, alpha);
    public Tensor sub_(Scalar other) => BinaryInPlace(other, OpSub, One);
    public Tensor mul_(Tensor other) => BinaryInPlace(other, OpMul, One);
    public Tensor mul_(Scalar other) => BinaryInPlace(other, OpMul, One);
    public Tensor div_(Tensor other) => BinaryInPlace(other, OpDiv, One);
    public Tensor div_(Scalar other) => BinaryInPlace(other, OpDiv, One);
    public Tensor pow_(Scalar exponent) => BinaryInPlace(exponent, OpPow, One);
    public Tensor maximum_(Tensor other) => BinaryInPlace(other, OpMaximum, One);

    public Tensor fill_(Scalar value) { Native.Check(Native.mdt_fill_(Handle, value.Value)); return this; }
    public Tensor zero_() { Native.Check(Native.mdt_zero_(Handle)); return this; }
    public Tensor copy_(Tensor source, bool non_blocking = false) { Native.Check(Native.mdt_copy_(Handle, source.Handle, non_blocking ? 1 : 0)); return this; }
    public Tensor uniform_(double from = 0, double to = 1) { Native.Check(Native.mdt_uniform_(Handle, from, to)); return this; }
    public Tensor normal_(double mean = 0, double std = 1) { Native.Check(Native.mdt_normal_(Handle, mean, std)); return this; }
    public Tensor bernoulli_(double p = 0.5) { Native.Check(Native.mdt_bernoulli_(Handle, p)); return this; }
    public Tensor addcmul_(Tensor tensor1, Tensor tensor2, Scalar value) { Native.Check(Native.mdt_addcmul_(Handle, tensor1.Handle, tensor2.Handle, value.Value)); return this; }
    public Tensor addcdiv_(Tensor tensor1, Tensor tensor2, Scalar value) { Native.Check(Native.mdt_addcdiv_(Handle, tensor1.Handle, tensor2.Handle, value.Value)); return this; }
    public Tensor lerp_(Tensor end, Scalar weight) { Native.Check(Native.mdt_lerp_(Handle, end.Handle, weight.Value)); return this; }
    public Tensor sqrt_() { Native.Check(Native.mdt_sqrt_(Handle)); return this; }
    public Tensor clamp_(double? min = null, double? max = null) { Native.Check(Native.mdt_clamp_(Handle, min ?? 0, min.HasValue ? 1 : 0, max ?? 0, max.HasValue ? 1 : 0)); return this; }

    private Tensor Compare(Tensor other, int op) => new(Native.mdt_compare(Handle, other.Handle, op));
    private Tensor Compare(Scalar other, int op) => new(Native.mdt_compare_scalar(Handle, other.Value, op));
    public Tensor eq(Tensor other) => Compare(other, CmpEq);
    public Tensor eq(Scalar other) => Compare(other, CmpEq);
    public Tensor ne(Tensor other) => Compare(other, CmpNe);
    public Tensor ne(Scalar other) => Compare(other, CmpNe);
    public Tensor lt(Tensor other) => Compare(other, CmpLt);
    public Tensor lt(Scalar other) => Compare(other, CmpLt);
    public Tensor le(Tensor other) => Compare(other, CmpLe);
    public Tensor le(Scalar other) => Compare(other, CmpLe);
    public Tensor gt(Tensor other) => Compare(other, CmpGt);
    public Tensor gt(Scalar other) => Compare(other, CmpGt);
    public Tensor ge(Tensor other) => Compare(other, CmpGe);
    public Tensor ge(Scalar other) => Compare(other, CmpGe);

    // Operators. == and != are deliberately not overloaded: they keep reference semantics (null checks,
    // collections); use eq/ne for elementwise equality.
    public static Tensor operator +(Tensor a, Tensor b) => a.add(b);
    public static Tensor operator +(Tensor a, Scalar b) => a.add(b);
    public static Tensor operator +(Scalar a, Tensor b) => b.add(a);
    public static Tensor operator -(Tensor a, Tensor b) => a.sub(b);
    public static Tensor operator -(Tensor a, Scalar b) => a.sub(b);
    public static Tensor operator -(Scalar a, Tensor b) => new(Native.mdt_scalar_binary(a.Value, b.Handle, OpSub));
    public static Tensor operator *(Tensor a, Tensor b) => a.mul(b);
    public static Tensor operator *(Tensor a, Scalar b) => a.mul(b);
    public static Tensor operator *(Scalar a, Tensor b) => b.mul(a);
    public static Tensor operator /(Tensor a, Tensor b) => a.div(b);
    public static Tensor operator /(Tensor a, Scalar b) => a.div(b);
    public static Tensor operator /(Scalar a, Tensor b) => new(Native.mdt_scalar_binary(a.Value, b.Handle, OpDiv));
    public static Tensor operator %(Tensor a, Tensor b) => a.remainder(b);
    public static Tensor operator %(Tensor a, Scalar b) => a.remainder(b);
    public static Tensor operator -(Tensor a) => a.neg();
    public static Tensor operator <(Tensor a, Tensor b) => a.lt(b);
    public static Tensor operator <(Tensor a, Scalar b) => a.lt(b);
    public static Tensor operator >(Tensor a, Tensor b) => a.gt(b);
    public static Tensor operator >(Tensor a, Scalar b) => a.gt(b);
    public static Tensor operator <=(Tensor a, Tensor b) => a.le(b);
    public static Tensor operator <=(Tensor a, Scalar b) => a.le(b);
    public static Tensor operator >=(Tensor a, Tensor b) => a.ge(b);
    public static Tensor operator >=(Tensor a, Scalar b) => a.ge(b);
    public static Tensor operator <(Scalar a, Tensor b) => b.gt(a);
    public static Tensor operator >(Scalar a, Tensor b) => b.lt(a);
    public static Tensor operator <=(Scalar a, Tensor b) => b.ge(a);
    public static Tensor operator >=(Scalar a, Tensor b) => b.le(a);

    /// <summary>scalar ** tensor.</summary>
    public static Tensor pow(Scalar a, Tensor b) => new(Native.mdt_scalar_binary(a.Value, b.Handle, OpPow));
}
