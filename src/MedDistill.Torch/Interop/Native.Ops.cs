using System.Runtime.InteropServices;

namespace MedDistill.Torch.Interop;

// Entry points of native/ops.cpp.
internal static unsafe partial class Native
{
    // ---- views and reshaping
    [LibraryImport(Lib)] internal static partial IntPtr mdt_view(IntPtr t, long* shape, int n);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_reshape(IntPtr t, long* shape, int n);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_permute(IntPtr t, long* order, int n);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_transpose(IntPtr t, long dim0, long dim1);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_t(IntPtr t);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_movedim(IntPtr t, long source, long destination);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_narrow(IntPtr t, long dim, long start, long length);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_select(IntPtr t, long dim, long index);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_expand(IntPtr t, long* shape, int n);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_repeat(IntPtr t, long* repeats, int n);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_flatten(IntPtr t, long startDim, long endDim);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_unflatten(IntPtr t, long dim, long* sizes, int n);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_squeeze(IntPtr t);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_squeeze_dim(IntPtr t, long dim);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_unsqueeze(IntPtr t, long dim);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_flip(IntPtr t, long* dims, int n);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_roll(IntPtr t, long* shifts, int ns, long* dims, int nd);

    // ---- joining and splitting (lists: read with mdt_list_len/get, free with mdt_list_free)
    [LibraryImport(Lib)] internal static partial IntPtr mdt_cat(IntPtr* tensors, int n, long dim);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_stack(IntPtr* tensors, int n, long dim);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_split(IntPtr t, long splitSize, long dim);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_split_with_sizes(IntPtr t, long* sizes, int n, long dim);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_chunk(IntPtr t, long chunks, long dim);

    // ---- indexing
    [LibraryImport(Lib)] internal static partial IntPtr mdt_index_select(IntPtr t, long dim, IntPtr index);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_gather(IntPtr t, long dim, IntPtr index);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_scatter(IntPtr t, long dim, IntPtr index, IntPtr src, int add);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_scatter_scalar(IntPtr t, long dim, IntPtr index, NativeScalar value);
    [LibraryImport(Lib)] internal static partial int mdt_scatter_(IntPtr t, long dim, IntPtr index, IntPtr src, int add);
    [LibraryImport(Lib)] internal static partial int mdt_scatter_scalar_(IntPtr t, long dim, IntPtr index, NativeScalar value);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_index(IntPtr t, IntPtr* indices, int n);
    [LibraryImport(Lib)] internal static partial int mdt_index_put_(IntPtr t, IntPtr* indices, int n, IntPtr values, int accumulate);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_masked_select(IntPtr t, IntPtr mask);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_nonzero(IntPtr t);

    // ---- reductions over dimensions (n == 0: every dimension; dtype < 0: libtorch's default)
    [LibraryImport(Lib)] internal static partial IntPtr mdt_sum_dims(IntPtr t, long* dims, int n, int keepdim, int dtype);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_mean_dims(IntPtr t, long* dims, int n, int keepdim, int dtype);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_var_std(IntPtr t, long* dims, int n, int unbiased, int keepdim, int which);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_norm(IntPtr t, NativeScalar p, long* dims, int n, int keepdim);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_logsumexp(IntPtr t, long* dims, int n, int keepdim);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_prod(IntPtr t, long dim, int hasDim, int keepdim, int dtype);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_cumsum(IntPtr t, long dim, int dtype);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_all_any_dim(IntPtr t, long dim, int keepdim, int which);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_count_nonzero(IntPtr t, long* dims, int n);
    [LibraryImport(Lib)] internal static partial int mdt_max_min_dim(IntPtr t, long dim, int keepdim, int which, out IntPtr values, out IntPtr indices);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_arg_max_min(IntPtr t, long dim, int hasDim, int keepdim, int which);

    // ---- linear algebra and normalisation
    [LibraryImport(Lib)] internal static partial IntPtr mdt_matmul(IntPtr a, IntPtr b);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_mm(IntPtr a, IntPtr b);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_bmm(IntPtr a, IntPtr b);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_softmax(IntPtr t, long dim, int dtype, int which);

    // ---- selection
    [LibraryImport(Lib)] internal static partial IntPtr mdt_clamp(IntPtr t, NativeScalar lo, int hasLo, NativeScalar hi, int hasHi);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_clamp_tensor(IntPtr t, IntPtr lo, IntPtr hi);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_where(IntPtr cond, IntPtr a, IntPtr b);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_where_scalar_other(IntPtr cond, IntPtr a, NativeScalar b);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_where_scalar_self(IntPtr cond, NativeScalar a, IntPtr b);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_where_scalars(IntPtr cond, NativeScalar a, NativeScalar b);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_masked_fill(IntPtr t, IntPtr mask, NativeScalar value);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_masked_fill_tensor(IntPtr t, IntPtr mask, IntPtr value);
    [LibraryImport(Lib)] internal static partial int mdt_masked_fill_(IntPtr t, IntPtr mask, NativeScalar value);
    [LibraryImport(Lib)] internal static partial int mdt_masked_fill_tensor_(IntPtr t, IntPtr mask, IntPtr value);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_one_hot(IntPtr t, long numClasses);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_lerp(IntPtr t, IntPtr end, NativeScalar weight);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_lerp_tensor(IntPtr t, IntPtr end, IntPtr weight);

    // ---- whole-tensor comparison, sorting, uniqueness
    [LibraryImport(Lib)] internal static partial int mdt_allclose(IntPtr a, IntPtr b, double rtol, double atol, int equalNan);
    [LibraryImport(Lib)] internal static partial int mdt_equal(IntPtr a, IntPtr b);
    [LibraryImport(Lib)] internal static partial int mdt_sort(IntPtr t, long dim, int descending, int stable, out IntPtr values, out IntPtr indices);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_argsort(IntPtr t, long dim, int descending);
    [LibraryImport(Lib)] internal static partial int mdt_topk(IntPtr t, long k, long dim, int largest, int sorted, out IntPtr values, out IntPtr indices);
    [LibraryImport(Lib)] internal static partial int mdt_unique(IntPtr t, long dim, int hasDim, int sorted, int returnInverse, int returnCounts,
        out IntPtr output, out IntPtr inverse, out IntPtr counts);
}
