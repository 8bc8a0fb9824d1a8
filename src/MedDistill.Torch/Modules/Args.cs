using System.Globalization;

namespace MedDistill.Torch.Modules;

/// <summary>Argument checks and formatting shared by the layers.</summary>
internal static class Args
{
    /// <summary>A copy of a two-value spatial argument (PyTorch's int-or-tuple), validated.</summary>
    public static long[] Pair(long[] values, string name, long min)
    {
        ArgumentNullException.ThrowIfNull(values, name);
        if (values.Length == 1) values = [values[0], values[0]];
        if (values.Length != 2) throw new ArgumentException($"{name} must have 1 or 2 values, got {values.Length}", name);
        foreach (var v in values)
            if (v < min) throw new ArgumentException($"{name} must be {(min == 0 ? "non-negative" : "positive")}, got ({values[0]}, {values[1]})", name);
        return [values[0], values[1]];
    }

    public static long Positive(long value, string name) =>
        value > 0 ? value : throw new ArgumentException($"{name} must be positive, got {value}", name);

    public static double Probability(double p, string name = "p") =>
        p is >= 0 and <= 1 ? p : throw new ArgumentOutOfRangeException(name, p, $"dropout probability has to be between 0 and 1, but got {p}");

    public static string Tuple(long[] values) => "(" + string.Join(", ", values) + ")";

    /// <summary>A double written as Python prints it (1e-05, 0.1, 2.0).</summary>
    public static string Py(double v)
    {
        if (double.IsInteger(v) && Math.Abs(v) < 1e16) return v.ToString("0.0", CultureInfo.InvariantCulture);
        var s = v.ToString("R", CultureInfo.InvariantCulture);
        int e = s.IndexOf('E');
        if (e < 0) return s;
        string exponent = s[(e + 1)..];
        string sign = exponent.StartsWith('-') ? "-" : "+";
        exponent = exponent.TrimStart('+', '-').PadLeft(2, '0');
        return s[..e] + "e" + sign + exponent;
    }

    public static string Py(bool v) => v ? "True" : "False";

    public static void RequireDim(Tensor input, int dims, string layer)
    {
        int d = input.dim();
        if (d != dims) throw new ArgumentException($"{layer}: expected {dims}D input (got {d}D input)", nameof(input));
    }

    public static void RequireDim(Tensor input, int a, int b, string layer)
    {
        int d = input.dim();
        if (d != a && d != b) throw new ArgumentException($"{layer}: expected {a}D or {b}D input (got {d}D input)", nameof(input));
    }
}
