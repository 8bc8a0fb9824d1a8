using System.Runtime.InteropServices;

namespace MedDistill.Torch.Interop;

/// <summary>A scalar as the shim receives it (kind 0 floating, 1 integral, 2 bool); mirrors mdt_scalar.</summary>
[StructLayout(LayoutKind.Sequential)]
internal readonly struct NativeScalar
{
    public readonly double D;
    public readonly long I;
    public readonly int Kind;
    public NativeScalar(double d, long i, int kind) { D = d; I = i; Kind = kind; }
}

/// <summary>
/// Entry points of libmeddistill_torch (native/*.cpp). Every call that makes a tensor returns a handle or
/// zero; every call without a result returns 0 or -1. <see cref="Check(IntPtr)"/> turns failure into a
/// typed exception carrying libtorch's message.
/// </summary>
internal static partial class Native
{
    internal const string Lib = "meddistill_torch";

    [LibraryImport(Lib)] internal static partial int mdt_last_error_kind();
    [LibraryImport(Lib)] internal static partial IntPtr mdt_last_error_message();
    [LibraryImport(Lib)] internal static partial void mdt_clear_error();

    internal static IntPtr Check(IntPtr handle)
    {
        if (handle == IntPtr.Zero) throw LastError();
        return handle;
    }

    internal static void Check(int status)
    {
        if (status < 0) throw LastError();
    }

    internal static TorchException LastError()
    {
        int kind = mdt_last_error_kind();
        string message = Marshal.PtrToStringUTF8(mdt_last_error_message()) ?? "";
        mdt_clear_error();
        if (kind == 0) message = "libtorch call failed without a message";
        return TorchException.FromNative(kind, message.TrimEnd());
    }

    // ---- versions and global settings
    [LibraryImport(Lib)] internal static partial IntPtr mdt_torch_version();
    [LibraryImport(Lib)] internal static partial int mdt_get_num_threads();
    [LibraryImport(Lib)] internal static partial int mdt_set_num_threads(int n);
    [LibraryImport(Lib)] internal static partial int mdt_blas_num_threads();
    [LibraryImport(Lib)] internal static partial int mdt_retain_freed_heap(int trimThreshold, int mmapThreshold);
    [LibraryImport(Lib)] internal static partial int mdt_get_num_interop_threads();
    [LibraryImport(Lib)] internal static partial int mdt_set_num_interop_threads(int n);
    [LibraryImport(Lib)] internal static partial int mdt_manual_seed(ulong seed);
    [LibraryImport(Lib)] internal static partial int mdt_set_deterministic(int on, int warnOnly);
    [LibraryImport(Lib)] internal static partial int mdt_get_deterministic();
    [LibraryImport(Lib)] internal static partial int mdt_autocast_set(int deviceType, int enabled, int dtype);
    [LibraryImport(Lib)] internal static unsafe partial int mdt_autocast_get(int deviceType, int* dtype);
    [LibraryImport(Lib)] internal static partial int mdt_autocast_enter();
    [LibraryImport(Lib)] internal static partial int mdt_autocast_exit();
    [LibraryImport(Lib)] internal static partial int mdt_cuda_is_available();
    [LibraryImport(Lib)] internal static partial int mdt_cuda_device_count();
    [LibraryImport(Lib)] internal static partial int mdt_cuda_synchronize(int index);
    [LibraryImport(Lib)] internal static partial int mdt_grad_enabled();
    [LibraryImport(Lib)] internal static partial void mdt_set_grad_enabled(int on);

    // ---- lifetime
    [LibraryImport(Lib)] internal static partial void mdt_free(IntPtr t);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_alias(IntPtr t);
    [LibraryImport(Lib)] internal static partial int mdt_list_len(IntPtr list);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_list_get(IntPtr list, int i);
    [LibraryImport(Lib)] internal static partial void mdt_list_free(IntPtr list);

    // ---- metadata
    [LibraryImport(Lib)] internal static partial int mdt_defined(IntPtr t);
    [LibraryImport(Lib)] internal static partial int mdt_dim(IntPtr t);
    [LibraryImport(Lib)] internal static unsafe partial int mdt_sizes(IntPtr t, long* output);
    [LibraryImport(Lib)] internal static unsafe partial int mdt_strides(IntPtr t, long* output);
    [LibraryImport(Lib)] internal static partial long mdt_numel(IntPtr t);
    [LibraryImport(Lib)] internal static partial int mdt_dtype(IntPtr t);
    [LibraryImport(Lib)] internal static partial int mdt_device_type(IntPtr t);
    [LibraryImport(Lib)] internal static partial int mdt_device_index(IntPtr t);
    [LibraryImport(Lib)] internal static partial int mdt_is_contiguous(IntPtr t);
    [LibraryImport(Lib)] internal static partial long mdt_element_size(IntPtr t);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_to_string(IntPtr t);
    [LibraryImport(Lib)] internal static partial void mdt_free_string(IntPtr s);

    // ---- creation
    [LibraryImport(Lib)] internal static unsafe partial IntPtr mdt_empty(long* shape, int n, int dtype, int devType, int devIndex, int requiresGrad);
    [LibraryImport(Lib)] internal static unsafe partial IntPtr mdt_zeros(long* shape, int n, int dtype, int devType, int devIndex, int requiresGrad);
    [LibraryImport(Lib)] internal static unsafe partial IntPtr mdt_ones(long* shape, int n, int dtype, int devType, int devIndex, int requiresGrad);
    [LibraryImport(Lib)] internal static unsafe partial IntPtr mdt_full(long* shape, int n, NativeScalar value, int dtype, int devType, int devIndex, int requiresGrad);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_arange(NativeScalar start, NativeScalar end, NativeScalar step, int dtype, int devType, int devIndex, int requiresGrad);
    [LibraryImport(Lib)] internal static unsafe partial IntPtr mdt_rand(long* shape, int n, int dtype, int devType, int devIndex, int requiresGrad);
    [LibraryImport(Lib)] internal static unsafe partial IntPtr mdt_randn(long* shape, int n, int dtype, int devType, int devIndex, int requiresGrad);
    [LibraryImport(Lib)] internal static unsafe partial IntPtr mdt_randint(long low, long high, long* shape, int n, int dtype, int devType, int devIndex);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_randperm(long n, int dtype, int devType, int devIndex);
    [LibraryImport(Lib)] internal static unsafe partial IntPtr mdt_from_data(void* data, long nbytes, long* shape, int n, int dtype);
    [LibraryImport(Lib)] internal static unsafe partial int mdt_copy_to_host(IntPtr t, void* dst, long nbytes);
    [LibraryImport(Lib)] internal static partial double mdt_item_double(IntPtr t);
    [LibraryImport(Lib)] internal static partial long mdt_item_int64(IntPtr t);

    // ---- conversion
    [LibraryImport(Lib)] internal static partial IntPtr mdt_to(IntPtr t, int dtype, int devType, int devIndex, int nonBlocking, int copy);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_to_dtype(IntPtr t, int dtype);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_contiguous(IntPtr t);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_clone(IntPtr t);

    // ---- autograd
    [LibraryImport(Lib)] internal static partial int mdt_requires_grad(IntPtr t);
    [LibraryImport(Lib)] internal static partial int mdt_set_requires_grad(IntPtr t, int on);
    [LibraryImport(Lib)] internal static partial int mdt_is_leaf(IntPtr t);
    [LibraryImport(Lib)] internal static partial int mdt_backward(IntPtr t, IntPtr grad, int retainGraph, int createGraph);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_grad(IntPtr t);
    [LibraryImport(Lib)] internal static partial int mdt_set_grad(IntPtr t, IntPtr grad);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_detach(IntPtr t);
    [LibraryImport(Lib)] internal static partial int mdt_detach_(IntPtr t);
    [LibraryImport(Lib)] internal static partial int mdt_set_data(IntPtr t, IntPtr data);

    // ---- arithmetic
    [LibraryImport(Lib)] internal static partial IntPtr mdt_binary(IntPtr a, IntPtr b, int op, NativeScalar alpha);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_binary_scalar(IntPtr a, NativeScalar b, int op, NativeScalar alpha);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_scalar_binary(NativeScalar a, IntPtr b, int op);
    [LibraryImport(Lib)] internal static partial int mdt_binary_(IntPtr a, IntPtr b, int op, NativeScalar alpha);
    [LibraryImport(Lib)] internal static partial int mdt_binary_scalar_(IntPtr a, NativeScalar b, int op, NativeScalar alpha);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_compare(IntPtr a, IntPtr b, int op);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_compare_scalar(IntPtr a, NativeScalar b, int op);
    [LibraryImport(Lib)] internal static partial int mdt_fill_(IntPtr t, NativeScalar value);
    [LibraryImport(Lib)] internal static partial int mdt_zero_(IntPtr t);
    [LibraryImport(Lib)] internal static partial int mdt_copy_(IntPtr dst, IntPtr src, int nonBlocking);
    [LibraryImport(Lib)] internal static partial int mdt_uniform_(IntPtr t, double from, double to);
    [LibraryImport(Lib)] internal static partial int mdt_normal_(IntPtr t, double mean, double std);
    [LibraryImport(Lib)] internal static partial int mdt_bernoulli_(IntPtr t, double p);
    [LibraryImport(Lib)] internal static partial int mdt_addcmul_(IntPtr t, IntPtr a, IntPtr b, NativeScalar value);
    [LibraryImport(Lib)] internal static partial int mdt_addcdiv_(IntPtr t, IntPtr a, IntPtr b, NativeScalar value);
    [LibraryImport(Lib)] internal static partial int mdt_lerp_(IntPtr t, IntPtr end, NativeScalar weight);
    [LibraryImport(Lib)] internal static partial int mdt_sqrt_(IntPtr t);
    [LibraryImport(Lib)] internal static partial int mdt_clamp_(IntPtr t, double lo, int hasLo, double hi, int hasHi);
}

internal static partial class Native
{
    [LibraryImport(Lib)] internal static partial IntPtr mdt_unary(IntPtr t, int op);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_sum_all(IntPtr t, int dtype);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_mean_all(IntPtr t);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_max_all(IntPtr t);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_min_all(IntPtr t);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_all_all(IntPtr t);
    [LibraryImport(Lib)] internal static partial IntPtr mdt_any_all(IntPtr t);
}
