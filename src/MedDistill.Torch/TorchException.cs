namespace MedDistill.Torch;

/// <summary>An error reported by libtorch (bad shape, dtype, device, ...), carrying libtorch's own message.</summary>
public class TorchException : Exception
{
    public TorchException(string message) : base(message) { }

    internal static TorchException FromNative(int kind, string message) => kind switch
    {
        2 => new TorchIndexException(message),
        3 => new TorchValueException(message),
        4 => new TorchTypeException(message),
        5 => new TorchNotImplementedException(message),
        6 => new TorchOutOfMemoryException(message),
        _ => new TorchException(message),
    };
}

/// <summary>An index or dimension out of range (c10::IndexError).</summary>
public sealed class TorchIndexException(string message) : TorchException(message);

/// <summary>An argument with a bad value, such as incompatible shapes (c10::ValueError).</summary>
public sealed class TorchValueException(string message) : TorchException(message);

/// <summary>An argument of the wrong dtype or kind (c10::TypeError).</summary>
public sealed class TorchTypeException(string message) : TorchException(message);

/// <summary>An operation libtorch does not implement for these arguments (c10::NotImplementedError).</summary>
public sealed class TorchNotImplementedException(string message) : TorchException(message);

/// <summary>An allocation that failed on the CPU or the GPU.</summary>
public sealed class TorchOutOfMemoryException(string message) : TorchException(message);
