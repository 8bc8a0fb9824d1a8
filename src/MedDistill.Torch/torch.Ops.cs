using MedDistill.Torch.Interop;

namespace MedDistill.Torch;

// Static forms of the tensor operations (torch.cat, torch.where, ...), as in PyTorch and TorchSharp.
// Most forward to the Tensor method; those without one (cat, stack, where) call the shim directly.
public static partial class torch
{
    // ---- joining and splitting
    /// <summary>Concatenates along an existing dimension; all other dimensions must match.</summary>
    public static unsafe Tensor cat(IList<Tensor> tensors, long dim = 0)
    {
        var handles = Tensor.HandlesOf(tensors, nameof(tensors));
        fixed (IntPtr* p = handles) return new Tensor(Native.mdt_cat(p, handles.Length, dim));
    }
    public static Tensor concat(IList<Tensor> tensors, long dim = 0) => cat(tensors, dim);

    /// <summary>Joins equally shaped tensors along a new dimension.</summary>
    public static unsafe Tensor stack(IList<Tensor> tensors, long dim = 0)
    {
        var handles = Tensor.HandlesOf(tensors, nameof(tensors));
        fixed (IntPtr* p = handles) return new Tensor(Native.mdt_stack(p, handles.Length, dim));
    }

    public static Tensor[] split(Tensor tensor, long split_size, long dim = 0) => tensor.split(split_size, dim);
    public static Tensor[] split(Tensor tensor, long[] split_sizes, long dim = 0) => tensor.split(split_sizes, dim);
    public static Tensor[] chunk(Tensor tensor, long chunks, long dim = 0) => tensor.chunk(chunks, dim);

    // ---- views and reshaping
    public static Tensor reshape(Tensor input, params long[] shape) => input.reshape(shape);
    public static Tensor permute(Tensor input, params long[] dims) => input.permute(dims);
    public static Tensor transpose(Tensor input, long dim0, long dim1) => input.transpose(dim0, dim1);
    public static Tensor t(Tensor input) => input.t();
    public static Tensor movedim(Tensor input, long source, long destination) => input.movedim(source, destination);
    public static Tensor narrow(Tensor input, long dim, long start, long length) => input.narrow(dim, start, length);
    public static Tensor select(Tensor input, long dim, long index) => input.select(dim, index);
    public static Tensor flatten(Tensor input, long start_dim = 0, long end_dim = -1) => input.flatten(start_dim, end_dim);
    public static Tensor unflatten(Tensor input, long dim, params long[] sizes) => input.unflatten(dim, sizes);
    public static Tensor squeeze(Tensor input) => input.squeeze();
    public static Tensor squeeze(Tensor input, long dim) => input.squeeze(dim);
    public static Tensor unsqueeze(Tensor input, long dim) => input.unsqueeze(dim);
    public static Tensor flip(Tensor input, params long[] dims) => input.flip(dims);
    public static Tensor roll(Tensor input, long[] shifts, long[]? dims = null) => input.roll(shifts, dims);
    public static Tensor roll(Tensor input, long shifts, long dims) => input.roll(shifts, dims);

    // ---- indexing
    public static Tensor index_select(Tensor input, long dim, Tensor index) => input.index_select(dim, index);
    public static Tensor gather(Tensor input, long dim, Tensor index) => input.gather(dim, index);
    public static Tensor scatter(Tensor input, long dim, Tensor index, Tensor src) => input.scatter(dim, index, src);
    public static Tensor scatter(Tensor input, long dim, Tensor index, Scalar value) => input.scatter(dim, index, value);
    public static Tensor scatter_add(Tensor input, long dim, Tensor index, Tensor src) => input.scatter_add(dim, index, src);
    public static Tensor masked_select(Tensor input, Tensor mask) => input.masked_select(mask);
    public static Tensor nonzero(Tensor input) => input.nonzero();

    // ---- reductions
    public static Tensor sum(Tensor input, ScalarType? dtype = null) => input.sum(dtype);
    public static Tensor sum(Tensor input, long[] dim, bool keepdim = false, ScalarType? dtype = null) => input.sum(dim, keepdim, dtype);
    public static Tensor sum(Tensor input, long dim, bool keepdim = false, ScalarType? dtype = null) => input.sum(dim, keepdim, dtype);
    public static Tensor sum(Tensor input, int dim, bool keepdim = false, ScalarType? dtype = null) => input.sum(dim, keepdim, dtype);
    public static Tensor mean(Tensor input) => input.mean();
    public static Tensor mean(Tensor input, long[] dim, bool keepdim = false, ScalarType? dtype = null) => input.mean(dim, keepdim, dtype);
    public static Tensor mean(Tensor input, long dim, bool keepdim = false, ScalarType? dtype = null) => input.mean(dim, keepdim, dtype);
    public static Tensor max(Tensor input) => input.max();
    public static (Tensor values, Tensor indices) max(Tensor input, long dim, bool keepdim = false) => input.max(dim, keepdim);
    public static Tensor min(Tensor input) => input.min();
    public static (Tensor values, Tensor indices) min(Tensor input, long dim, bool keepdim = false) => input.min(dim, keepdim);
    public static Tensor argmax(Tensor input, long? dim = null, bool keepdim = false) => input.argmax(dim, keepdim);
    public static Tensor argmin(Tensor input, long? dim = null, bool keepdim = false) => input.argmin(dim, keepdim);
    public static Tensor var(Tensor input, bool unbiased = true) => input.var(unbiased);
    public static Tensor var(Tensor input, long dim, bool unbiased = true, bool keepdim = false) => input.var(dim, unbiased, keepdim);
    public static Tensor var(Tensor input, long[] dim, bool unbiased = true, bool keepdim = false) => input.var(dim, unbiased, keepdim);
    public static Tensor std(Tensor input, bool unbiased = true) => input.std(unbiased);
    public static Tensor std(Tensor input, long dim, bool unbiased = true, bool keepdim = false) => input.std(dim, unbiased, keepdim);
    public static Tensor std(Tensor input, long[] dim, bool unbiased = true, bool keepdim = false) => input.std(dim, unbiased, keepdim);
    public static Tensor norm(Tensor input, double p = 2, long[]? dim = null, bool keepdim = false) => input.norm(p, dim, keepdim);
    public static Tensor prod(Tensor input, ScalarType? dtype = null) => input.prod(dtype);
    public static Tensor prod(Tensor input, long dim, bool keepdim = false, ScalarType? dtype = null) => input.prod(dim, keepdim, dtype);
    public static Tensor prod(Tensor input, int dim, bool keepdim = false, ScalarType? dtype = null) => input.prod(dim, keepdim, dtype);
    public static Tensor logsumexp(Tensor input, long dim, bool keepdim = false) => input.logsumexp(dim, keepdim);
    public static Tensor logsumexp(Tensor input, long[] dim, bool keepdim = false) => input.logsumexp(dim, keepdim);
    public static Tensor cumsum(Tensor input, long dim, ScalarType? dtype = null) => input.cumsum(dim, dtype);
    public static Tensor all(Tensor input) => input.all();
    public static Tensor all(Tensor input, long dim, bool keepdim = false) => input.all(dim, keepdim);
    public static Tensor any(Tensor input) => input.any();
    public static Tensor any(Tensor input, long dim, bool keepdim = false) => input.any(dim, keepdim);
    public static Tensor count_nonzero(Tensor input, params long[] dim) => input.count_nonzero(dim);

    // ---- linear algebra and normalisation
    public static Tensor matmul(Tensor input, Tensor other) => input.matmul(other);
    public static Tensor mm(Tensor input, Tensor mat2) => input.mm(mat2);
    public static Tensor bmm(Tensor input, Tensor mat2) => input.bmm(mat2);
    public static Tensor softmax(Tensor input, long dim, ScalarType? dtype = null) => input.softmax(dim, dtype);
    public static Tensor log_softmax(Tensor input, long dim, ScalarType? dtype = null) => input.log_softmax(dim, dtype);

    // ---- selection
    public static Tensor clamp(Tensor input, Scalar? min = null, Scalar? max = null) => input.clamp(min, max);
    public static Tensor clamp(Tensor input, Tensor? min, Tensor? max) => input.clamp(min, max);

    /// <summary>Elementwise x where condition is true, else y; all three broadcast together.</summary>
    public static Tensor where(Tensor condition, Tensor x, Tensor y) => new(Native.mdt_where(condition.Handle, x.Handle, y.Handle));
    /// <summary>As where(condition, x, y); the scalar's dtype is promoted against the tensor as in PyTorch.</summary>
    public static Tensor where(Tensor condition, Tensor x, Scalar y) => new(Native.mdt_where_scalar_other(condition.Handle, x.Handle, y.Value));
    public static Tensor where(Tensor condition, Scalar x, Tensor y) => new(Native.mdt_where_scalar_self(condition.Handle, x.Value, y.Handle));
    /// <summary>Two scalars give int64 (both integral), bool (both bool) or the default float dtype.</summary>
    public static Tensor where(Tensor condition, Scalar x, Scalar y) => new(Native.mdt_where_scalars(condition.Handle, x.Value, y.Value));

    public static Tensor masked_fill(Tensor input, Tensor mask, Scalar value) => input.masked_fill(mask, value);
    public static Tensor masked_fill(Tensor input, Tensor mask, Tensor value) => input.masked_fill(mask, value);
    public static Tensor one_hot(Tensor input, long num_classes = -1) => input.one_hot(num_classes);
    public static Tensor lerp(Tensor input, Tensor end, Scalar weight) => input.lerp(end, weight);
    public static Tensor lerp(Tensor input, Tensor end, Tensor weight) => input.lerp(end, weight);

    // ---- whole-tensor comparison, sorting, uniqueness
    public static bool allclose(Tensor input, Tensor other, double rtol = 1e-5, double atol = 1e-8, bool equal_nan = false) =>
        input.allclose(other, rtol, atol, equal_nan);
    public static bool equal(Tensor input, Tensor other) => input.equal(other);
    public static (Tensor values, Tensor indices) sort(Tensor input, long dim = -1, bool descending = false, bool stable = false) =>
        input.sort(dim, descending, stable);
    public static Tensor argsort(Tensor input, long dim = -1, bool descending = false) => input.argsort(dim, descending);
    public static (Tensor values, Tensor indices) topk(Tensor input, long k, long dim = -1, bool largest = true, bool sorted = true) =>
        input.topk(k, dim, largest, sorted);
    public static (Tensor output, Tensor? inverse_indices, Tensor? counts) unique(Tensor input, bool sorted = true,
        bool return_inverse = false, bool return_counts = false, long? dim = null) =>
        input.unique(sorted, return_inverse, return_counts, dim);
}
