using System.Runtime.InteropServices;
using MedDistill.Torch.Interop;

namespace MedDistill.Torch;

/// <summary>
/// A libtorch tensor. Owns one native handle; dispose it (or let a <see cref="DisposeScope"/> do so).
/// The finalizer is only a safety net. Operations live in the partial files Tensor.*.cs.
/// </summary>
public partial class Tensor : IDisposable
{
    private IntPtr handle;
    internal DisposeScope? OwningScope;

    /// <summary>Takes ownership of a handle returned by the shim; throws the pending libtorch error for a null handle.</summary>
    internal Tensor(IntPtr handle)
    {
        this.handle = Native.Check(handle);
        DisposeScope.Attach(this);
    }

    internal IntPtr Handle
    {
        get
        {
            if (handle == IntPtr.Zero) throw new ObjectDisposedException(nameof(Tensor), "the tensor has been disposed");
            return handle;
        }
    }

    public bool IsInvalid => handle == IntPtr.Zero;

    ~Tensor() => Free();

    public void Dispose()
    {
        OwningScope?.Forget(this);
        Free();
        GC.SuppressFinalize(this);
    }

    private void Free()
    {
        var h = Interlocked.Exchange(ref handle, IntPtr.Zero);
        if (h != IntPtr.Zero) Native.mdt_free(h);
    }

    /// <summary>Hands this tensor to the enclosing dispose scope (or to none, if its scope is the outermost).</summary>
    public Tensor MoveToOuterDisposeScope()
    {
        var scope = OwningScope;
        if (scope is null) return this;
        scope.Forget(this);
        scope.Outer?.Adopt(this);
        return this;
    }

    /// <summary>Removes this tensor from any dispose scope; its owner must dispose it.</summary>
    public Tensor DetachFromDisposeScope()
    {
        OwningScope?.Forget(this);
        return this;
    }

    // ---- metadata
    public int dim() => Native.mdt_dim(Handle) is var d && d >= 0 ? d : throw Native.LastError();
    public int ndim => dim();

    public unsafe long[] shape
    {
        get
        {
            int n = dim();
            var result = new long[n];
            fixed (long* p = result) Native.Check(Native.mdt_sizes(Handle, p));
            return result;
        }
    }

    public long size(int dimension)
    {
        var s = shape;
        int d = dimension < 0 ? dimension + s.Length : dimension;
        if (d < 0 || d >= s.Length) throw new TorchIndexException($"Dimension out of range (expected to be in range of [{-s.Length}, {s.Length - 1}], but got {dimension})");
        return s[d];
    }

    public unsafe long[] stride()
    {
        int n = dim();
        var result = new long[n];
        fixed (long* p = result) Native.Check(Native.mdt_strides(Handle, p));
        return result;
    }

    public long numel() => Native.mdt_numel(Handle) is var n && n >= 0 ? n : throw Native.LastError();
    public ScalarType dtype => (ScalarType)(Native.mdt_dtype(Handle) is var d && d >= 0 ? d : throw Native.LastError());
    public long element_size() => Native.mdt_element_size(Handle);
    public bool is_contiguous() => Native.mdt_is_contiguous(Handle) == 1;

    public Device device
    {
        get
        {
            int type = Native.mdt_device_type(Handle);
            if (type < 0) throw Native.LastError();
            return type == 1 ? new Device(DeviceType.CUDA, Native.mdt_device_index(Handle)) : Device.CPU;
        }
    }

    public bool is_cuda => Native.mdt_device_type(Handle) == 1;

    public override string ToString()
    {
        if (handle == IntPtr.Zero) return "Tensor(disposed)";
        return $"Tensor[{string.Join(", ", shape)}], dtype={dtype}, device={device}";
    }

    /// <summary>libtorch's own printout of the values.</summary>
    public string ToStringWithValues()
    {
        IntPtr s = Native.Check(Native.mdt_to_string(Handle));
        try { return Marshal.PtrToStringUTF8(s) ?? ""; }
        finally { Native.mdt_free_string(s); }
    }

    // ---- data transfer
    /// <summary>Copies the elements, row-major, into a new array. T must hold the dtype exactly (BFloat16: convert to float32 first).</summary>
    public unsafe T[] ToArray<T>() where T : unmanaged
    {
        CheckElementType<T>();
        var result = new T[numel()];
        fixed (T* p = result) Native.Check(Native.mdt_copy_to_host(Handle, p, (long)result.Length * sizeof(T)));
        return result;
    }

    /// <summary>Copies the elements, row-major, into <paramref name="destination"/>, whose length must equal numel().</summary>
    public unsafe void CopyTo<T>(Span<T> destination) where T : unmanaged
    {
        CheckElementType<T>();
        fixed (T* p = destination) Native.Check(Native.mdt_copy_to_host(Handle, p, (long)destination.Length * sizeof(T)));
    }

    private void CheckElementType<T>() where T : unmanaged
    {
        var want = ScalarTypeExtensions.ForClrType(typeof(T));
        var have = dtype;
        if (want != have)
            throw new ArgumentException($"tensor has dtype {have}, which a {typeof(T).Name} array cannot hold; convert with .to({want}) first");
    }

    /// <summary>The value of a one-element tensor.</summary>
    public T item<T>() where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return (T)(object)(float)ItemDouble();
        if (typeof(T) == typeof(double)) return (T)(object)ItemDouble();
        if (typeof(T) == typeof(long)) return (T)(object)ItemInt64();
        if (typeof(T) == typeof(int)) return (T)(object)checked((int)ItemInt64());
        if (typeof(T) == typeof(bool)) return (T)(object)(ItemInt64() != 0);
        if (typeof(T) == typeof(Half)) return (T)(object)(Half)ItemDouble();
        if (typeof(T) == typeof(byte)) return (T)(object)checked((byte)ItemInt64());
        throw new ArgumentException($"item<{typeof(T).Name}> is not supported");
    }

    private double ItemDouble()
    {
        Native.mdt_clear_error();
        double v = Native.mdt_item_double(Handle);
        if (Native.mdt_last_error_kind() != 0) throw Native.LastError();
        return v;
    }

    private long ItemInt64()
    {
        Native.mdt_clear_error();
        long v = Native.mdt_item_int64(Handle);
        if (Native.mdt_last_error_kind() != 0) throw Native.LastError();
        return v;
    }

    // ---- conversion
    public Tensor to(ScalarType type) => new(Native.mdt_to_dtype(Handle, (int)type));
    public Tensor to(Device device, bool non_blocking = false) => to(device, dtype, non_blocking);
    public Tensor to(Device device, ScalarType type, bool non_blocking = false, bool copy = false) =>
        new(Native.mdt_to(Handle, (int)type, (int)device.Type, device.Index, non_blocking ? 1 : 0, copy ? 1 : 0));
    public Tensor to(string device) => to(Device.Parse(device));
    public Tensor cpu() => to(Device.CPU);
    public Tensor cuda(int index = 0) => to(new Device(DeviceType.CUDA, index));
    public Tensor @float() => to(ScalarType.Float32);
    public Tensor @double() => to(ScalarType.Float64);
    public Tensor @long() => to(ScalarType.Int64);
    public Tensor @int() => to(ScalarType.Int32);
    public Tensor @bool() => to(ScalarType.Bool);
    public Tensor half() => to(ScalarType.Float16);
    public Tensor bfloat16() => to(ScalarType.BFloat16);
    public Tensor contiguous() => new(Native.mdt_contiguous(Handle));
    public Tensor clone() => new(Native.mdt_clone(Handle));
    /// <summary>A new managed handle to the same native tensor (same storage, same autograd identity).</summary>
    public Tensor alias() => new(Native.mdt_alias(Handle));

    // ---- autograd
    public bool requires_grad
    {
        get => Native.mdt_requires_grad(Handle) == 1;
        set => Native.Check(Native.mdt_set_requires_grad(Handle, value ? 1 : 0));
    }

    public Tensor requires_grad_(bool on = true)
    {
        requires_grad = on;
        return this;
    }

    public bool is_leaf => Native.mdt_is_leaf(Handle) == 1;

    public void backward(Tensor? gradient = null, bool retain_graph = false, bool create_graph = false) =>
        Native.Check(Native.mdt_backward(Handle, gradient?.Handle ?? IntPtr.Zero, retain_graph || create_graph ? 1 : 0, create_graph ? 1 : 0));

    /// <summary>The accumulated gradient, or null when there is none. Each read returns a new handle to it.</summary>
    public Tensor? grad
    {
        get
        {
            Native.mdt_clear_error();
            IntPtr g = Native.mdt_grad(Handle);
            if (g == IntPtr.Zero)
            {
                if (Native.mdt_last_error_kind() != 0) throw Native.LastError();
                return null;
            }
            return new Tensor(g);
        }
        set => Native.Check(Native.mdt_set_grad(Handle, value?.Handle ?? IntPtr.Zero));
    }

    public Tensor detach() => new(Native.mdt_detach(Handle));

    public Tensor detach_()
    {
        Native.Check(Native.mdt_detach_(Handle));
        return this;
    }

    /// <summary>Replaces the data behind this tensor, keeping its identity (used when modules move devices).</summary>
    public void set_data(Tensor data) => Native.Check(Native.mdt_set_data(Handle, data.Handle));
}
