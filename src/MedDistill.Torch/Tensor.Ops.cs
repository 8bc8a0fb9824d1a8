using MedDistill.Torch.Interop;

namespace MedDistill.Torch;

// Views, indexing, joining/splitting, linear algebra and selection (native/ops.cpp). Views share
// storage with this tensor, exactly as in PyTorch; each call still returns a new managed handle.
public unsafe partial class Tensor
{
    // ---- plumbing shared by the ops files
    private Tensor WithLongs(long[] values, delegate*<IntPtr, long*, int, IntPtr> op)
    {
        ArgumentNullException.ThrowIfNull(values);
        fixed (long* p = values) return new Tensor(op(Handle, p, values.Length));
    }


    /// <summary>The handles of a tensor list, rejecting null entries (a null entry would otherwise crash the shim).</summary>
    internal static IntPtr[] HandlesOf(IList<Tensor> tensors, string paramName, bool allowNull = false)
    {
        ArgumentNullException.ThrowIfNull(tensors, paramName);
        var handles = new IntPtr[tensors.Count];
        for (int k = 0; k < handles.Length; k++)
        {
            var t = tensors[k];
            if (t is null)
            {
                if (!allowNull) throw new ArgumentNullException(paramName, $"{paramName}[{k}] is null");
                continue;
            }
            handles[k] = t.Handle;
        }
        return handles;
    }

    private static (Tensor, Tensor) Pair(int status, IntPtr first, IntPtr second)
    {
        Native.Check(status);
        return (new Tensor(first), new Tensor(second));
    }

    // ---- views and reshaping
    /// <summary>A view with the given shape (one entry may be -1); fails when the strides do not allow a view.</summary>
    public Tensor view(params long[] shape) => WithLongs(shape, &Native.mdt_view);
    /// <summary>Like view, but copies when a view is impossible.</summary>
    public Tensor reshape(params long[] shape) => WithLongs(shape, &Native.mdt_reshape);
    public Tensor view_as(Tensor other) => view(other.shape);
    public Tensor reshape_as(Tensor other) => reshape(other.shape);
    public Tensor permute(params long[] dims) => WithLongs(dims, &Native.mdt_permute);
    public Tensor transpose(long dim0, long dim1) => new(Native.mdt_transpose(Handle, dim0, dim1));
    public Tensor swapaxes(long dim0, long dim1) => transpose(dim0, dim1);
    /// <summary>Transpose of a tensor with at most two dimensions.</summary>
    public Tensor t() => new(Native.mdt_t(Handle));
    public Tensor movedim(long source, long destination) => new(Native.mdt_movedim(Handle, source, destination));
    public Tensor narrow(long dim, long start, long length) => new(Native.mdt_narrow(Handle, dim, start, length));
    /// <summary>The slice at <paramref name="index"/> along <paramref name="dim"/>, which it removes.</summary>
    public Tensor select(long dim, long index) => new(Native.mdt_select(Handle, dim, index));
    /// <summary>A broadcast view; -1 keeps a dimension's size, new leading dimensions may be added.</summary>
    public Tensor expand(params long[] sizes) => WithLongs(sizes, &Native.mdt_expand);
    public Tensor expand_as(Tensor other) => expand(other.shape);
    /// <summary>Tiles the tensor; <paramref name="repeats"/> has at least as many entries as the tensor has dimensions.</summary>
    public Tensor repeat(params long[] repeats) => WithLongs(repeats, &Native.mdt_repeat);
    public Tensor flatten(long start_dim = 0, long end_dim = -1) => new(Native.mdt_flatten(Handle, start_dim, end_dim));

    /// <summary>Splits dimension <paramref name="dim"/> into <paramref name="sizes"/> (one entry may be -1).</summary>
    public Tensor unflatten(long dim, params long[] sizes)
    {
        ArgumentNullException.ThrowIfNull(sizes);
        fixed (long* p = sizes) return new Tensor(Native.mdt_unflatten(Handle, dim, p, sizes.Length));
    }

    /// <summary>Removes every dimension of size 1.</summary>
    public Tensor squeeze() => new(Native.mdt_squeeze(Handle));
    /// <summary>Removes dimension <paramref name="dim"/> if its size is 1 (otherwise returns a view of the same shape).</summary>
    public Tensor squeeze(long dim) => new(Native.mdt_squeeze_dim(Handle, dim));
    public Tensor unsqueeze(long dim) => new(Native.mdt_unsqueeze(Handle, dim));
    public Tensor flip(params long[] dims) => WithLongs(dims, &Native.mdt_flip);

    /// <summary>Rolls along <paramref name="dims"/>; with no dims the tensor is rolled as if flattened.</summary>
    public Tensor roll(long[] shifts, long[]? dims = null)
    {
        ArgumentNullException.ThrowIfNull(shifts);
        dims ??= [];
        fixed (long* s = shifts)
        fixed (long* d = dims)
            return new Tensor(Native.mdt_roll(Handle, s, shifts.Length, d, dims.Length));
    }
    public Tensor roll(long shifts, long dims) => roll([shifts], [dims]);
    public Tensor roll(long shifts) => roll([shifts]);

    /// <summary>This tensor converted to <paramref name="other"/>'s dtype and device.</summary>
    public Tensor type_as(Tensor other) => to(other.device, other.dtype);

    // ---- splitting
    /// <summary>Pieces of <paramref name="split_size"/> along <paramref name="dim"/> (the last may be smaller); views.</summary>
    public Tensor[] split(long split_size, long dim = 0) => TensorList.Take(Native.mdt_split(Handle, split_size, dim));

    /// <summary>Pieces with the given sizes along <paramref name="dim"/>, which must add up to that dimension's size.</summary>
    public Tensor[] split(long[] split_sizes, long dim = 0)
    {
        ArgumentNullException.ThrowIfNull(split_sizes);
        fixed (long* p = split_sizes) return TensorList.Take(Native.mdt_split_with_sizes(Handle, p, split_sizes.Length, dim));
    }

    /// <summary>At most <paramref name="chunks"/> nearly equal pieces along <paramref name="dim"/>; views.</summary>
    public Tensor[] chunk(long chunks, long dim = 0) => TensorList.Take(Native.mdt_chunk(Handle, chunks, dim));

    // ---- indexing
    public Tensor index_select(long dim, Tensor index) => new(Native.mdt_index_select(Handle, dim, index.Handle));
    /// <summary>out[i][j] = this[index[i][j]][j] for dim 0 (and likewise for other dims); index is int64.</summary>
    public Tensor gather(long dim, Tensor index) => new(Native.mdt_gather(Handle, dim, index.Handle));
    /// <summary>A copy with this[index[i][j]][j] = src[i][j] for dim 0 (and likewise for other dims).</summary>
    public Tensor scatter(long dim, Tensor index, Tensor src) => new(Native.mdt_scatter(Handle, dim, index.Handle, src.Handle, 0));
    public Tensor scatter(long dim, Tensor index, Scalar value) => new(Native.mdt_scatter_scalar(Handle, dim, index.Handle, value.Value));
    public Tensor scatter_(long dim, Tensor index, Tensor src) { Native.Check(Native.mdt_scatter_(Handle, dim, index.Handle, src.Handle, 0)); return this; }
    public Tensor scatter_(long dim, Tensor index, Scalar value) { Native.Check(Native.mdt_scatter_scalar_(Handle, dim, index.Handle, value.Value)); return this; }
    /// <summary>Like scatter, but values landing on the same position are summed.</summary>
    public Tensor scatter_add(long dim, Tensor index, Tensor src) => new(Native.mdt_scatter(Handle, dim, index.Handle, src.Handle, 1));
    public Tensor scatter_add_(long dim, Tensor index, Tensor src) { Native.Check(Native.mdt_scatter_(Handle, dim, index.Handle, src.Handle, 1)); return this; }

    /// <summary>Advanced indexing, as <c>t[i0, i1, ...]</c> with index tensors in Python (int64 indices or bool masks);
    /// a null entry takes the whole dimension, like <c>:</c>.</summary>
    public Tensor index(params Tensor?[] indices)
    {
        var handles = HandlesOf(indices!, nameof(indices), allowNull: true);
        fixed (IntPtr* p = handles) return new Tensor(Native.mdt_index(Handle, p, handles.Length));
    }

    /// <summary>In place: <c>t[indices] = values</c> (or <c>+=</c> when <paramref name="accumulate"/>).</summary>
    public Tensor index_put_(Tensor values, Tensor?[] indices, bool accumulate)
    {
        ArgumentNullException.ThrowIfNull(values);
        var handles = HandlesOf(indices!, nameof(indices), allowNull: true);
        fixed (IntPtr* p = handles) Native.Check(Native.mdt_index_put_(Handle, p, handles.Length, values.Handle, accumulate ? 1 : 0));
        return this;
    }
    public Tensor index_put_(Tensor values, params Tensor?[] indices) => index_put_(values, indices, false);

    /// <summary>The elements where the (broadcast) boolean mask is true, as a 1-D tensor.</summary>
    public Tensor masked_select(Tensor mask) => new(Native.mdt_masked_select(Handle, mask.Handle));
    /// <summary>Indices of the non-zero elements, one row per element (shape [count, dim]).</summary>
    public Tensor nonzero() => new(Native.mdt_nonzero(Handle));

    // Python-style indexers: t[i] is select(0, i); further integers select in the dimensions that remain.
    public Tensor this[long i]
    {
        get => select(0, i);
        set => AssignInto(value, i);
    }

    public Tensor this[long i, long j]
    {
        get => SelectChain(i, j);
        set => AssignInto(value, i, j);
    }

    public Tensor this[long i, long j, long k]
    {
        get => SelectChain(i, j, k);
        set => AssignInto(value, i, j, k);
    }

    /// <summary>t[mask] or t[indexTensor]: advanced indexing along the first dimension(s).</summary>
    public Tensor this[Tensor index]
    {
        get => this.index(index);
        set => index_put_(value, index);
    }

    private Tensor SelectChain(params long[] indices)
    {
        int d = dim();
        // libtorch would report "select() cannot be applied to a 0-dim tensor", which hides the cause.
        if (indices.Length > d)
            throw new TorchIndexException($"too many indices for tensor of dimension {d} (got {indices.Length})");
        Tensor current = select(0, indices[0]);
        for (int k = 1; k < indices.Length; k++)
        {
            var next = current.select(0, indices[k]);
            current.Dispose();
            current = next;
        }
        return current;
    }

    private void AssignInto(Tensor value, params long[] indices)
    {
        ArgumentNullException.ThrowIfNull(value);
        using var target = SelectChain(indices);
        target.copy_(value);
    }

    // ---- linear algebra and normalisation
    /// <summary>Matrix product with NumPy broadcasting of batch dimensions (1-D operands act as vectors).</summary>
    public Tensor matmul(Tensor other) => new(Native.mdt_matmul(Handle, other.Handle));
    public Tensor mm(Tensor other) => new(Native.mdt_mm(Handle, other.Handle));
    public Tensor bmm(Tensor other) => new(Native.mdt_bmm(Handle, other.Handle));

    public Tensor softmax(long dim, ScalarType? dtype = null) => Softmax(dim, dtype, 0, nameof(softmax));
    public Tensor log_softmax(long dim, ScalarType? dtype = null) => Softmax(dim, dtype, 1, nameof(log_softmax));

    private Tensor Softmax(long dim, ScalarType? dtype, int which, string name)
    {
        // libtorch reports integral input as an unimplemented kernel ("softmax_lastdim_kernel_impl" not
        // implemented for 'Long'), which reads like a missing feature rather than a wrong dtype.
        if (dtype is null && !this.dtype.IsFloatingPoint())
            throw new TorchTypeException($"{name}: expected a floating-point tensor but got {this.dtype}; convert it or pass dtype");
        return new Tensor(Native.mdt_softmax(Handle, dim, dtype.HasValue ? (int)dtype.Value : -1, which));
    }

    // ---- selection
    /// <summary>Elementwise clamp into [min, max]; either bound may be omitted.</summary>
    public Tensor clamp(Scalar? min = null, Scalar? max = null)
    {
        if (min is null && max is null) throw new ArgumentException("clamp: at least one of min and max must be given");
        return new Tensor(Native.mdt_clamp(Handle, (min ?? 0).Value, min.HasValue ? 1 : 0, (max ?? 0).Value, max.HasValue ? 1 : 0));
    }

    /// <summary>Elementwise clamp with broadcast tensor bounds; either may be null.</summary>
    public Tensor clamp(Tensor? min, Tensor? max)
    {
        if (min is null && max is null) throw new ArgumentException("clamp: at least one of min and max must be given");
        return new Tensor(Native.mdt_clamp_tensor(Handle, min?.Handle ?? IntPtr.Zero, max?.Handle ?? IntPtr.Zero));
    }
    public Tensor clamp_min(Scalar min) => clamp(min, null);
    public Tensor clamp_max(Scalar max) => clamp(null, max);

    /// <summary>this where <paramref name="condition"/> is true, else <paramref name="other"/> (torch.where(condition, this, other)).</summary>
    public Tensor where(Tensor condition, Tensor other) => torch.where(condition, this, other);
    public Tensor where(Tensor condition, Scalar other) => torch.where(condition, this, other);

    public Tensor masked_fill(Tensor mask, Scalar value) => new(Native.mdt_masked_fill(Handle, mask.Handle, value.Value));
    /// <summary>Fills with a zero-dimensional tensor's value (keeps autograd through the value).</summary>
    public Tensor masked_fill(Tensor mask, Tensor value) => new(Native.mdt_masked_fill_tensor(Handle, mask.Handle, value.Handle));
    public Tensor masked_fill_(Tensor mask, Scalar value) { Native.Check(Native.mdt_masked_fill_(Handle, mask.Handle, value.Value)); return this; }
    public Tensor masked_fill_(Tensor mask, Tensor value) { Native.Check(Native.mdt_masked_fill_tensor_(Handle, mask.Handle, value.Handle)); return this; }

    /// <summary>One-hot encoding of an int64 class-index tensor; a new last dimension of size num_classes
    /// (-1: one more than the largest index).</summary>
    public Tensor one_hot(long num_classes = -1) => new(Native.mdt_one_hot(Handle, num_classes));

    /// <summary>this + weight * (end - this).</summary>
    public Tensor lerp(Tensor end, Scalar weight) => new(Native.mdt_lerp(Handle, end.Handle, weight.Value));
    public Tensor lerp(Tensor end, Tensor weight) => new(Native.mdt_lerp_tensor(Handle, end.Handle, weight.Handle));

    // ---- whole-tensor comparison, sorting, uniqueness
    /// <summary>|this - other| &lt;= atol + rtol * |other| everywhere (with broadcasting).</summary>
    public bool allclose(Tensor other, double rtol = 1e-5, double atol = 1e-8, bool equal_nan = false)
    {
        int r = Native.mdt_allclose(Handle, other.Handle, rtol, atol, equal_nan ? 1 : 0);
        Native.Check(r);
        return r == 1;
    }

    /// <summary>True when both tensors have the same shape and elements.</summary>
    public bool equal(Tensor other)
    {
        int r = Native.mdt_equal(Handle, other.Handle);
        Native.Check(r);
        return r == 1;
    }

    public (Tensor values, Tensor indices) sort(long dim = -1, bool descending = false, bool stable = false) =>
        Pair(Native.mdt_sort(Handle, dim, descending ? 1 : 0, stable ? 1 : 0, out var v, out var i), v, i);
    public Tensor argsort(long dim = -1, bool descending = false) => new(Native.mdt_argsort(Handle, dim, descending ? 1 : 0));

    /// <summary>The k largest (or smallest) elements along <paramref name="dim"/> and their indices.</summary>
    public (Tensor values, Tensor indices) topk(long k, long dim = -1, bool largest = true, bool sorted = true) =>
        Pair(Native.mdt_topk(Handle, k, dim, largest ? 1 : 0, sorted ? 1 : 0, out var v, out var i), v, i);

    /// <summary>Distinct elements (or distinct slices along <paramref name="dim"/>); the inverse indices and counts
    /// are returned only when asked for.</summary>
    public (Tensor output, Tensor? inverse_indices, Tensor? counts) unique(bool sorted = true, bool return_inverse = false,
        bool return_counts = false, long? dim = null)
    {
        Native.Check(Native.mdt_unique(Handle, dim ?? 0, dim.HasValue ? 1 : 0, sorted ? 1 : 0, return_inverse ? 1 : 0,
            return_counts ? 1 : 0, out var o, out var inv, out var c));
        var output = new Tensor(o);
        return (output, inv == IntPtr.Zero ? null : new Tensor(inv), c == IntPtr.Zero ? null : new Tensor(c));
    }
}
