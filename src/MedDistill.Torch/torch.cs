using System.Runtime.InteropServices;
using MedDistill.Torch.Interop;

namespace MedDistill.Torch;

/// <summary>Entry point in TorchSharp's idiom: <c>using static MedDistill.Torch.torch;</c>.</summary>
public static partial class torch
{
    // ---- dtypes
    public const ScalarType float32 = ScalarType.Float32;
    public const ScalarType float64 = ScalarType.Float64;
    public const ScalarType float16 = ScalarType.Float16;
    public const ScalarType bfloat16 = ScalarType.BFloat16;
    public const ScalarType int64 = ScalarType.Int64;
    public const ScalarType int32 = ScalarType.Int32;
    public const ScalarType int16 = ScalarType.Int16;
    public const ScalarType int8 = ScalarType.Int8;
    public const ScalarType uint8 = ScalarType.Byte;
    public const ScalarType @bool = ScalarType.Bool;

    // ---- devices
    public static readonly Device CPU = Device.CPU;
    public static readonly Device CUDA = Device.CUDA;
    public static Device device(string spec) => Device.Parse(spec);
    public static Device device(DeviceType type, int index = -1) => new(type, index);

    /// <summary>The libtorch version the shim was compiled against, e.g. "1.13.0".</summary>
    public static string __version__ => Marshal.PtrToStringUTF8(Native.mdt_torch_version()) ?? "unknown";

    // ---- scopes and modes
    public static DisposeScope NewDisposeScope() => new();

    /// <summary>Disables gradient recording on this thread until disposed: <c>using var _ = torch.no_grad();</c>.</summary>
    public static IDisposable no_grad() => new GradModeGuard(false);
    public static IDisposable enable_grad() => new GradModeGuard(true);
    public static bool is_grad_enabled() => Native.mdt_grad_enabled() == 1;

    private sealed class GradModeGuard : IDisposable
    {
        private readonly bool previous;
        private bool disposed;
        public GradModeGuard(bool enabled)
        {
            previous = Native.mdt_grad_enabled() == 1;
            Native.mdt_set_grad_enabled(enabled ? 1 : 0);
        }
        public void Dispose()
        {
            if (disposed) return;
            disposed = true;
            Native.mdt_set_grad_enabled(previous ? 1 : 0);
        }
    }

    /// <summary>
    /// Mixed precision until disposed, as <c>torch.autocast(device_type, dtype)</c>: eligible ops (convolutions, matmuls)
    /// run in <paramref name="dtype"/> (bfloat16 by default) on <paramref name="device_type"/>, the rest stay float32.
    /// Regions nest; the outermost one's exit drops autocast's cache of low-precision weight copies. Run backward and the
    /// optimiser step after the region closes, as in PyTorch.
    /// </summary>
    public static IDisposable autocast(DeviceType device_type, ScalarType dtype = ScalarType.BFloat16, bool enabled = true) =>
        new AutocastGuard(device_type, dtype, enabled);

    /// <summary>Whether autocast is on for <paramref name="device_type"/> on this thread, and its dtype.</summary>
    public static unsafe (bool Enabled, ScalarType DType) get_autocast_state(DeviceType device_type)
    {
        int code;
        int enabled = Native.mdt_autocast_get(AutocastDevice(device_type), &code);
        Native.Check(enabled < 0 ? -1 : 0);
        return (enabled == 1, (ScalarType)code);
    }

    private static int AutocastDevice(DeviceType type) => type switch
    {
        DeviceType.CPU => 0,
        DeviceType.CUDA => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "autocast supports cpu and cuda"),
    };

    private sealed class AutocastGuard : IDisposable
    {
        private readonly int device;
        private readonly (bool Enabled, ScalarType DType) previous;
        private bool disposed;

        public AutocastGuard(DeviceType type, ScalarType dtype, bool enabled)
        {
            if (enabled && dtype is not (ScalarType.BFloat16 or ScalarType.Float16))
                throw new ArgumentException($"autocast runs in bfloat16 or float16, not {dtype}", nameof(dtype));
            device = AutocastDevice(type);
            previous = get_autocast_state(type);
            Native.Check(Native.mdt_autocast_set(device, enabled ? 1 : 0, (int)dtype));
            Native.Check(Native.mdt_autocast_enter() < 0 ? -1 : 0);
        }

        public void Dispose()
        {
            if (disposed) return;
            disposed = true;
            Native.Check(Native.mdt_autocast_exit() < 0 ? -1 : 0);
            Native.Check(Native.mdt_autocast_set(device, previous.Enabled ? 1 : 0, (int)previous.DType));
        }
    }

    // ---- seeds, determinism, threads
    /// <summary>Seeds libtorch's CPU generator and every CUDA generator.</summary>
    public static void manual_seed(long seed) => Native.Check(Native.mdt_manual_seed(unchecked((ulong)seed)));
    public static void random_seed(long seed) => manual_seed(seed);

    public static void use_deterministic_algorithms(bool mode, bool warn_only = false) =>
        Native.Check(Native.mdt_set_deterministic(mode ? 1 : 0, warn_only ? 1 : 0));
    public static bool are_deterministic_algorithms_enabled() => Native.mdt_get_deterministic() == 1;

    public static int get_num_threads() => Native.mdt_get_num_threads();

    /// <summary>
    /// Sets libtorch's intra-op threads and, where libtorch calls OpenBLAS (Debian's build), OpenBLAS's own pool, which
    /// libtorch leaves at one thread per core: its idle workers would otherwise spin beside every parallel run.
    /// </summary>
    public static void set_num_threads(int threads)
    {
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "need at least one thread");
        Native.Check(Native.mdt_set_num_threads(threads));
    }
    public static int get_num_interop_threads() => Native.mdt_get_num_interop_threads();

    /// <summary>OpenBLAS's thread count, or null when libtorch does not use OpenBLAS (not in TorchSharp: ours, for run records).</summary>
    public static int? get_blas_num_threads() => Native.mdt_blas_num_threads() is var n and >= 0 ? n : null;
    /// <summary>Must be called before any inter-op parallel work starts, as in PyTorch.</summary>
    public static void set_num_interop_threads(int threads) => Native.Check(Native.mdt_set_num_interop_threads(threads));

    public static class cuda
    {
        public static bool is_available() => Native.mdt_cuda_is_available() == 1;
        public static int device_count() => Native.mdt_cuda_device_count();
        public static void synchronize(int index = 0) => Native.Check(Native.mdt_cuda_synchronize(index));
        public static void manual_seed_all(long seed) => torch.manual_seed(seed);
    }

    // ---- creation
    private delegate IntPtr ShapeFactory(IntPtr shape, int n, int dtype, int devType, int devIndex, int requiresGrad);

    private static unsafe Tensor Create(ReadOnlySpan<long> shape, ScalarType? dtype, Device? device, bool requires_grad,
        delegate*<long*, int, int, int, int, int, IntPtr> factory)
    {
        var d = device ?? Device.CPU;
        fixed (long* p = shape)
            return new Tensor(factory(p, shape.Length, (int)(dtype ?? ScalarType.Float32), (int)d.Type, d.Index, requires_grad ? 1 : 0));
    }

    public static unsafe Tensor empty(long[] size, ScalarType? dtype = null, Device? device = null, bool requires_grad = false) =>
        Create(size, dtype, device, requires_grad, &Native.mdt_empty);
    public static unsafe Tensor zeros(long[] size, ScalarType? dtype = null, Device? device = null, bool requires_grad = false) =>
        Create(size, dtype, device, requires_grad, &Native.mdt_zeros);
    public static unsafe Tensor ones(long[] size, ScalarType? dtype = null, Device? device = null, bool requires_grad = false) =>
        Create(size, dtype, device, requires_grad, &Native.mdt_ones);
    public static unsafe Tensor rand(long[] size, ScalarType? dtype = null, Device? device = null, bool requires_grad = false) =>
        Create(size, dtype, device, requires_grad, &Native.mdt_rand);
    public static unsafe Tensor randn(long[] size, ScalarType? dtype = null, Device? device = null, bool requires_grad = false) =>
        Create(size, dtype, device, requires_grad, &Native.mdt_randn);
    public static Tensor zeros(params long[] size) => zeros(size, null);
    public static Tensor ones(params long[] size) => ones(size, null);
    public static Tensor empty(params long[] size) => empty(size, null);
    public static Tensor rand(params long[] size) => rand(size, null);
    public static Tensor randn(params long[] size) => randn(size, null);

    public static unsafe Tensor full(long[] size, Scalar value, ScalarType? dtype = null, Device? device = null, bool requires_grad = false)
    {
        var d = device ?? Device.CPU;
        var type = dtype ?? (value.IsIntegral ? ScalarType.Int64 : ScalarType.Float32);
        fixed (long* p = size)
            return new Tensor(Native.mdt_full(p, size.Length, value.Value, (int)type, (int)d.Type, d.Index, requires_grad ? 1 : 0));
    }

    public static Tensor zeros_like(Tensor t, ScalarType? dtype = null, Device? device = null, bool requires_grad = false) =>
        zeros(t.shape, dtype ?? t.dtype, device ?? t.device, requires_grad);
    public static Tensor ones_like(Tensor t, ScalarType? dtype = null, Device? device = null, bool requires_grad = false) =>
        ones(t.shape, dtype ?? t.dtype, device ?? t.device, requires_grad);
    public static Tensor full_like(Tensor t, Scalar value, ScalarType? dtype = null, Device? device = null) =>
        full(t.shape, value, dtype ?? t.dtype, device ?? t.device);
    public static Tensor empty_like(Tensor t, ScalarType? dtype = null, Device? device = null) =>
        empty(t.shape, dtype ?? t.dtype, device ?? t.device);
    public static Tensor rand_like(Tensor t) => rand(t.shape, t.dtype, t.device);
    public static Tensor randn_like(Tensor t) => randn(t.shape, t.dtype, t.device);

    /// <summary>Values from start (inclusive) to end (exclusive). Integral arguments give int64, as in PyTorch.</summary>
    public static Tensor arange(Scalar start, Scalar end, Scalar step, ScalarType? dtype = null, Device? device = null, bool requires_grad = false)
    {
        var d = device ?? Device.CPU;
        var type = dtype ?? (start.IsIntegral && end.IsIntegral && step.IsIntegral ? ScalarType.Int64 : ScalarType.Float32);
        return new Tensor(Native.mdt_arange(start.Value, end.Value, step.Value, (int)type, (int)d.Type, d.Index, requires_grad ? 1 : 0));
    }
    public static Tensor arange(Scalar start, Scalar end, ScalarType? dtype = null, Device? device = null) => arange(start, end, 1, dtype, device);
    public static Tensor arange(Scalar end, ScalarType? dtype = null, Device? device = null) => arange(0, end, 1, dtype, device);

    /// <summary>Integers drawn uniformly from [low, high).</summary>
    public static unsafe Tensor randint(long low, long high, long[] size, ScalarType? dtype = null, Device? device = null)
    {
        var d = device ?? Device.CPU;
        fixed (long* p = size)
            return new Tensor(Native.mdt_randint(low, high, p, size.Length, (int)(dtype ?? ScalarType.Int64), (int)d.Type, d.Index));
    }
    public static Tensor randint(long high, long[] size, ScalarType? dtype = null, Device? device = null) => randint(0, high, size, dtype, device);

    public static Tensor randperm(long n, ScalarType? dtype = null, Device? device = null)
    {
        var d = device ?? Device.CPU;
        return new Tensor(Native.mdt_randperm(n, (int)(dtype ?? ScalarType.Int64), (int)d.Type, d.Index));
    }

    /// <summary>A tensor holding a copy of <paramref name="data"/> with the given shape (default: one dimension).</summary>
    public static unsafe Tensor tensor<T>(ReadOnlySpan<T> data, long[]? shape = null, ScalarType? dtype = null, Device? device = null, bool requires_grad = false)
        where T : unmanaged
    {
        var source = ScalarTypeExtensions.ForClrType(typeof(T));
        shape ??= [data.Length];
        long count = 1;
        foreach (var s in shape)
        {
            if (s < 0) throw new ArgumentException($"negative dimension {s} in shape [{string.Join(", ", shape)}]", nameof(shape));
            count *= s;
        }
        if (count != data.Length)
            throw new ArgumentException($"shape [{string.Join(", ", shape)}] holds {count} elements but {data.Length} were given", nameof(shape));
        Tensor result;
        fixed (T* p = data)
        fixed (long* s = shape)
            result = new Tensor(Native.mdt_from_data(p, (long)data.Length * sizeof(T), s, shape.Length, (int)source));
        bool convert = (dtype.HasValue && dtype.Value != source) || (device is not null && device.Type != DeviceType.CPU);
        if (convert)
        {
            var converted = result.to(device ?? Device.CPU, dtype ?? source);
            result.Dispose();
            result = converted;
        }
        if (requires_grad) result.requires_grad = true;
        return result;
    }

    public static Tensor tensor<T>(T[] data, long[]? shape = null, ScalarType? dtype = null, Device? device = null, bool requires_grad = false)
        where T : unmanaged => tensor<T>(data.AsSpan(), shape, dtype, device, requires_grad);
    public static Tensor tensor(float[] data, params long[] shape) => tensor<float>(data, shape.Length == 0 ? null : shape);
    public static Tensor tensor(double[] data, params long[] shape) => tensor<double>(data, shape.Length == 0 ? null : shape);
    public static Tensor tensor(long[] data, params long[] shape) => tensor<long>(data, shape.Length == 0 ? null : shape);
    public static Tensor tensor(int[] data, params long[] shape) => tensor<int>(data, shape.Length == 0 ? null : shape);
    public static Tensor tensor(bool[] data, params long[] shape) => tensor<bool>(data, shape.Length == 0 ? null : shape);
    public static Tensor tensor(byte[] data, params long[] shape) => tensor<byte>(data, shape.Length == 0 ? null : shape);

    /// <summary>A zero-dimensional tensor.</summary>
    public static Tensor scalar_tensor(double value, ScalarType dtype = ScalarType.Float32, Device? device = null) =>
        full([], value, dtype, device);
}
