using MedDistill.Torch.Interop;

namespace MedDistill.Torch;

// Reductions over chosen dimensions (the whole-tensor ones are in Tensor.Unary.cs). An empty dimension
// list means every dimension, like PyTorch's dim=None. Overloads taking `int dim` exist only so that a
// literal such as sum(0) binds to a dimension rather than, ambiguously, to the ScalarType? overload.
public unsafe partial class Tensor
{
    private static int DtypeCode(ScalarType? dtype) => dtype.HasValue ? (int)dtype.Value : -1;

    public Tensor sum(long[] dim, bool keepdim = false, ScalarType? dtype = null)
    {
        ArgumentNullException.ThrowIfNull(dim);
        fixed (long* p = dim) return new Tensor(Native.mdt_sum_dims(Handle, p, dim.Length, keepdim ? 1 : 0, DtypeCode(dtype)));
    }
    public Tensor sum(long dim, bool keepdim = false, ScalarType? dtype = null) => sum([dim], keepdim, dtype);
    public Tensor sum(int dim, bool keepdim = false, ScalarType? dtype = null) => sum([(long)dim], keepdim, dtype);

    public Tensor mean(long[] dim, bool keepdim = false, ScalarType? dtype = null)
    {
        ArgumentNullException.ThrowIfNull(dim);
        fixed (long* p = dim) return new Tensor(Native.mdt_mean_dims(Handle, p, dim.Length, keepdim ? 1 : 0, DtypeCode(dtype)));
    }
    public Tensor mean(long dim, bool keepdim = false, ScalarType? dtype = null) => mean([dim], keepdim, dtype);

    /// <summary>Maximum along <paramref name="dim"/> and the index where it occurs.</summary>
    public (Tensor values, Tensor indices) max(long dim, bool keepdim = false) =>
        Pair(Native.mdt_max_min_dim(Handle, dim, keepdim ? 1 : 0, 0, out var v, out var i), v, i);
    /// <summary>Minimum along <paramref name="dim"/> and the index where it occurs.</summary>
    public (Tensor values, Tensor indices) min(long dim, bool keepdim = false) =>
        Pair(Native.mdt_max_min_dim(Handle, dim, keepdim ? 1 : 0, 1, out var v, out var i), v, i);

    /// <summary>Index of the maximum along <paramref name="dim"/>, or into the flattened tensor when dim is null.</summary>
    public Tensor argmax(long? dim = null, bool keepdim = false) => new(Native.mdt_arg_max_min(Handle, dim ?? 0, dim.HasValue ? 1 : 0, keepdim ? 1 : 0, 0));
    public Tensor argmin(long? dim = null, bool keepdim = false) => new(Native.mdt_arg_max_min(Handle, dim ?? 0, dim.HasValue ? 1 : 0, keepdim ? 1 : 0, 1));

    /// <summary>Variance over every element; unbiased divides by N - 1 (Bessel), else by N.</summary>
    public Tensor var(bool unbiased = true) => VarStd([], unbiased, false, 0);
    public Tensor var(long dim, bool unbiased = true, bool keepdim = false) => VarStd([dim], unbiased, keepdim, 0);
    public Tensor var(long[] dim, bool unbiased = true, bool keepdim = false) => VarStd(dim, unbiased, keepdim, 0);
    public Tensor std(bool unbiased = true) => VarStd([], unbiased, false, 1);
    public Tensor std(long dim, bool unbiased = true, bool keepdim = false) => VarStd([dim], unbiased, keepdim, 1);
    public Tensor std(long[] dim, bool unbiased = true, bool keepdim = false) => VarStd(dim, unbiased, keepdim, 1);

    private Tensor VarStd(long[] dim, bool unbiased, bool keepdim, int which)
    {
        ArgumentNullException.ThrowIfNull(dim);
        fixed (long* p = dim) return new Tensor(Native.mdt_var_std(Handle, p, dim.Length, unbiased ? 1 : 0, keepdim ? 1 : 0, which));
    }

    /// <summary>The p-norm over <paramref name="dim"/> (null: every element). p may be any real or ±infinity.</summary>
    public Tensor norm(double p = 2, long[]? dim = null, bool keepdim = false)
    {
        dim ??= [];
        fixed (long* d = dim) return new Tensor(Native.mdt_norm(Handle, ((Scalar)p).Value, d, dim.Length, keepdim ? 1 : 0));
    }
    public Tensor norm(double p, long dim, bool keepdim = false) => norm(p, [dim], keepdim);

    public Tensor prod(ScalarType? dtype = null) => new(Native.mdt_prod(Handle, 0, 0, 0, DtypeCode(dtype)));
    public Tensor prod(long dim, bool keepdim = false, ScalarType? dtype = null) => new(Native.mdt_prod(Handle, dim, 1, keepdim ? 1 : 0, DtypeCode(dtype)));
    public Tensor prod(int dim, bool keepdim = false, ScalarType? dtype = null) => prod((long)dim, keepdim, dtype);

    /// <summary>log(sum(exp(x))) over <paramref name="dim"/>, computed without overflow.</summary>
    public Tensor logsumexp(long[] dim, bool keepdim = false)
    {
        ArgumentNullException.ThrowIfNull(dim);
        fixed (long* p = dim) return new Tensor(Native.mdt_logsumexp(Handle, p, dim.Length, keepdim ? 1 : 0));
    }
    public Tensor logsumexp(long dim, bool keepdim = false) => logsumexp([dim], keepdim);

    public Tensor cumsum(long dim, ScalarType? dtype = null) => new(Native.mdt_cumsum(Handle, dim, DtypeCode(dtype)));

    public Tensor all(long dim, bool keepdim = false) => new(Native.mdt_all_any_dim(Handle, dim, keepdim ? 1 : 0, 0));
    public Tensor any(long dim, bool keepdim = false) => new(Native.mdt_all_any_dim(Handle, dim, keepdim ? 1 : 0, 1));

    /// <summary>Number of non-zero elements over <paramref name="dim"/> (none given: over every element); int64.</summary>
    public Tensor count_nonzero(params long[] dim)
    {
        ArgumentNullException.ThrowIfNull(dim);
        fixed (long* p = dim) return new Tensor(Native.mdt_count_nonzero(Handle, p, dim.Length));
    }
}
