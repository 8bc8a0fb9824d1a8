using MedDistill.Torch.Interop;

namespace MedDistill.Torch;

// Elementwise unary math and whole-tensor reductions. Codes are those of unary() in native/core.cpp.
public partial class Tensor
{
    private Tensor Unary(int op) => new(Native.mdt_unary(Handle, op));

    public Tensor neg() => Unary(0);
    public Tensor abs() => Unary(1);
    public Tensor sqrt() => Unary(2);
    public Tensor exp() => Unary(3);
    public Tensor log() => Unary(4);
    public Tensor sigmoid() => Unary(5);
    public Tensor tanh() => Unary(6);
    public Tensor relu() => Unary(7);
    public Tensor sign() => Unary(8);
    public Tensor floor() => Unary(9);
    public Tensor ceil() => Unary(10);
    public Tensor round() => Unary(11);
    public Tensor rsqrt() => Unary(12);
    public Tensor reciprocal() => Unary(13);
    public Tensor square() => Unary(14);
    public Tensor log1p() => Unary(15);
    public Tensor expm1() => Unary(16);
    public Tensor sin() => Unary(17);
    public Tensor cos() => Unary(18);
    public Tensor logical_not() => Unary(19);
    public Tensor isnan() => Unary(20);
    public Tensor isfinite() => Unary(21);
    public Tensor log2() => Unary(22);
    public Tensor trunc() => Unary(23);

    /// <summary>Sum of all elements; integral inputs accumulate in int64 as in PyTorch.</summary>
    public Tensor sum(ScalarType? dtype = null) => new(Native.mdt_sum_all(Handle, dtype.HasValue ? (int)dtype.Value : -1));
    public Tensor mean() => new(Native.mdt_mean_all(Handle));
    public Tensor max() => new(Native.mdt_max_all(Handle));
    public Tensor min() => new(Native.mdt_min_all(Handle));
    public Tensor all() => new(Native.mdt_all_all(Handle));
    public Tensor any() => new(Native.mdt_any_all(Handle));
}
