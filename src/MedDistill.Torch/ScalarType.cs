namespace MedDistill.Torch;

/// <summary>Element types. The numeric values are c10::ScalarType's, so they cross the shim unchanged.</summary>
public enum ScalarType
{
    Byte = 0,
    Int8 = 1,
    Int16 = 2,
    Int32 = 3,
    Int64 = 4,
    Float16 = 5,
    Float32 = 6,
    Float64 = 7,
    ComplexFloat32 = 9,
    ComplexFloat64 = 10,
    Bool = 11,
    BFloat16 = 15,
}

public static class ScalarTypeExtensions
{
    public static bool IsFloatingPoint(this ScalarType t) =>
        t is ScalarType.Float16 or ScalarType.Float32 or ScalarType.Float64 or ScalarType.BFloat16;

    public static bool IsIntegral(this ScalarType t, bool includeBool = false) =>
        t is ScalarType.Byte or ScalarType.Int8 or ScalarType.Int16 or ScalarType.Int32 or ScalarType.Int64
        || (includeBool && t == ScalarType.Bool);

    public static int ElementSize(this ScalarType t) => t switch
    {
        ScalarType.Byte or ScalarType.Int8 or ScalarType.Bool => 1,
        ScalarType.Int16 or ScalarType.Float16 or ScalarType.BFloat16 => 2,
        ScalarType.Int32 or ScalarType.Float32 => 4,
        ScalarType.Int64 or ScalarType.Float64 or ScalarType.ComplexFloat32 => 8,
        ScalarType.ComplexFloat64 => 16,
        _ => throw new ArgumentOutOfRangeException(nameof(t), t, "unknown scalar type"),
    };

    /// <summary>The .NET element type that holds this dtype's values bit for bit (BFloat16 has none: use float).</summary>
    internal static ScalarType ForClrType(Type t)
    {
        if (t == typeof(float)) return ScalarType.Float32;
        if (t == typeof(double)) return ScalarType.Float64;
        if (t == typeof(Half)) return ScalarType.Float16;
        if (t == typeof(long)) return ScalarType.Int64;
        if (t == typeof(int)) return ScalarType.Int32;
        if (t == typeof(short)) return ScalarType.Int16;
        if (t == typeof(byte)) return ScalarType.Byte;
        if (t == typeof(sbyte)) return ScalarType.Int8;
        if (t == typeof(bool)) return ScalarType.Bool;
        throw new ArgumentException($"no tensor dtype holds .NET type {t.Name}");
    }
}
