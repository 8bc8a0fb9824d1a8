using MedDistill.Torch.Interop;

namespace MedDistill.Torch;

/// <summary>
/// A number passed to libtorch. Integral and floating values stay distinct so that, as in PyTorch,
/// <c>intTensor + 1</c> stays integral while <c>intTensor + 1.0</c> promotes to floating point.
/// </summary>
public readonly struct Scalar
{
    internal readonly NativeScalar Value;
    private Scalar(NativeScalar v) => Value = v;

    public static implicit operator Scalar(double v) => new(new NativeScalar(v, 0, 0));
    public static implicit operator Scalar(float v) => new(new NativeScalar(v, 0, 0));
    public static implicit operator Scalar(long v) => new(new NativeScalar(v, v, 1));
    public static implicit operator Scalar(int v) => new(new NativeScalar(v, v, 1));
    public static implicit operator Scalar(bool v) => new(new NativeScalar(v ? 1 : 0, v ? 1 : 0, 2));

    public bool IsIntegral => Value.Kind == 1;
    public double ToDouble() => Value.Kind == 0 ? Value.D : Value.I;
    public override string ToString() => Value.Kind switch { 0 => Value.D.ToString("R"), 2 => (Value.I != 0).ToString(), _ => Value.I.ToString() };
}
