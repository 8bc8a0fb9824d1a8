using System.Globalization;
using ScottPlot;

namespace MedDistill.Experiments.Reports;

/// <summary>One named line of a chart: <see cref="X"/>[i], <see cref="Y"/>[i]. A non-finite value (NaN) on either side breaks the line there.</summary>
public sealed record ChartSeries(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y);

/// <summary>
/// A small line chart, drawn by ScottPlot as SVG (<see cref="ToSvg"/>) or PNG (<see cref="ToPng"/>): a title, a plot
/// area with x and y axes, light grid lines and labelled ticks at "nice" steps (1, 2 or 5 × 10^k, from
/// <see cref="Axis"/>), one line per series in a distinct colour, and a legend to the right of the plot. The layout is
/// fixed (not measured from the text), the font is <see cref="ChartStyle.Font"/> and tick labels are formatted here in
/// the invariant culture, so the same chart gives the same bytes on every run.
/// </summary>
/// <remarks>
/// A series is drawn as one line per run of finite points, and a lone finite point (no finite neighbour) as a dot,
/// which a line alone would not show. ScottPlot clips to the plot area, so a fixed axis range hides what lies outside it.
/// </remarks>
public sealed record SvgChart
{
    /// <summary>Colours of the series in order (matplotlib's "tab10"); from the 11th series on they repeat dashed.</summary>
    public static IReadOnlyList<string> Palette => ChartStyle.Palette;

    public string Title { get; init; } = "";
    public string XLabel { get; init; } = "";
    public string YLabel { get; init; } = "";
    public IReadOnlyList<ChartSeries> Series { get; init; } = [];

    /// <summary>Size of the picture in pixels (SVG user units).</summary>
    public int Width { get; init; } = 640;
    public int Height { get; init; } = 400;

    /// <summary>Fixed axis ends; null: from the data, widened to whole tick steps.</summary>
    public double? XMin { get; init; }
    public double? XMax { get; init; }
    public double? YMin { get; init; }
    public double? YMax { get; init; }

    /// <summary>Ticks at whole numbers only (epochs, steps).</summary>
    public bool IntegerXTicks { get; init; }

    /// <summary>About how many tick steps an axis spans (the step is the nice number at or above span / this).</summary>
    public int TargetTicks { get; init; } = 5;

    /// <summary>Kept for callers of the former hand-written SVG; ScottPlot's SVG writes its own coordinates.</summary>
    public int Decimals { get; init; } = 2;

    // Layout in pixels. The legend sits in a column right of the plot; its width follows the longest name.
    // MarginRight leaves room for the frame ScottPlot draws around its legend.
    internal const double MarginLeft = 64, MarginTop = 40, MarginBottom = 52, MarginRight = 32;
    internal const double LegendGap = 16, LegendSwatch = 20, CharWidth = 7;

    /// <summary>The plot area's corners (left, top, right, bottom) in pixels.</summary>
    public (double Left, double Top, double Right, double Bottom) PlotArea
    {
        get
        {
            int longest = Series.Count == 0 ? 0 : Series.Max(s => s.Name.Length);
            double legend = Series.Count == 0 ? 0 : LegendGap + LegendSwatch + 6 + CharWidth * longest;
            return (MarginLeft, MarginTop, Width - MarginRight - legend, Height - MarginBottom);
        }
    }

    /// <summary>The axes' ranges and tick steps as drawn.</summary>
    public (Axis X, Axis Y) Axes
    {
        get
        {
            var xs = new List<double>();
            var ys = new List<double>();
            foreach (var s in Series)
                foreach (var (x, y) in Points(s))
                    if (double.IsFinite(x) && double.IsFinite(y)) { xs.Add(x); ys.Add(y); }
            return (Axis.Nice(xs, XMin, XMax, TargetTicks, IntegerXTicks), Axis.Nice(ys, YMin, YMax, TargetTicks, false));
        }
    }

    /// <summary>Where the data point (<paramref name="x"/>, <paramref name="y"/>) lands in the picture (y grows downwards).</summary>
    public (double X, double Y) ToPicture(double x, double y)
    {
        var (ax, ay) = Axes;
        return Project(PlotArea, ax, ay, x, y);
    }

    private static (double X, double Y) Project((double Left, double Top, double Right, double Bottom) area, Axis ax, Axis ay, double x, double y) =>
        (area.Left + (x - ax.Min) / (ax.Max - ax.Min) * (area.Right - area.Left),
         area.Bottom - (y - ay.Min) / (ay.Max - ay.Min) * (area.Bottom - area.Top));

    public string ToSvg() => ChartStyle.Svg(Build(), Width, Height);

    public byte[] ToPng() => Build().GetImageBytes(Width, Height, ImageFormat.Png);

    /// <summary>The ScottPlot plot of this chart, after the checks every output needs.</summary>
    internal Plot Build()
    {
        if (Width < 200 || Height < 150) throw new ArgumentOutOfRangeException(nameof(Width), $"a chart needs at least 200×150, got {Width}×{Height}");
        if (Decimals is < 0 or > 6) throw new ArgumentOutOfRangeException(nameof(Decimals), $"{Decimals} must be in 0–6");
        foreach (var s in Series)
            if (s.X.Count != s.Y.Count) throw new ArgumentException($"series '{s.Name}' has {s.X.Count} x values and {s.Y.Count} y values");
        var (left, top, right, bottom) = PlotArea;
        if (right - left < 40) throw new ArgumentException($"the legend leaves no room for the plot in a chart {Width} wide");
        var (ax, ay) = Axes;

        var plot = ChartStyle.NewPlot(Title, XLabel, YLabel);
        ChartStyle.FixLayout(plot, PlotArea, Width, Height);
        ChartStyle.SetAxis(plot.Axes.Bottom, ax);
        ChartStyle.SetAxis(plot.Axes.Left, ay);
        for (int i = 0; i < Series.Count; i++)
        {
            var (colour, dashed) = Style(i);
            bool named = false;
            foreach (var run in Segments(Series[i]))
            {
                var line = plot.Add.Scatter(run.Select(p => p.X).ToArray(), run.Select(p => p.Y).ToArray(), Color.FromHex(colour));
                line.LineWidth = run.Count > 1 ? 1.5f : 0;
                line.MarkerSize = run.Count > 1 ? 0 : 5;
                line.LinePattern = dashed ? LinePattern.Dashed : LinePattern.Solid;
                // One legend entry per series, however many runs it breaks into.
                if (!named) { line.LegendText = Series[i].Name; named = true; }
            }
        }
        if (Series.Count > 0) ChartStyle.LegendRight(plot);
        return plot;
    }

    private static (string Colour, bool Dashed) Style(int index) => (Palette[index % Palette.Count], index >= Palette.Count);

    private static IEnumerable<(double X, double Y)> Points(ChartSeries s)
    {
        for (int i = 0; i < Math.Min(s.X.Count, s.Y.Count); i++) yield return (s.X[i], s.Y[i]);
    }

    /// <summary>Runs of consecutive finite points; a non-finite x or y ends a run.</summary>
    private static List<List<(double X, double Y)>> Segments(ChartSeries s)
    {
        var segments = new List<List<(double X, double Y)>>();
        List<(double X, double Y)>? current = null;
        foreach (var p in Points(s))
        {
            if (!double.IsFinite(p.X) || !double.IsFinite(p.Y)) { current = null; continue; }
            if (current is null) segments.Add(current = []);
            current.Add(p);
        }
        return segments;
    }

}

/// <summary>An axis as drawn: its ends and the step between ticks (ticks at whole multiples of the step).</summary>
public readonly record struct Axis(double Min, double Max, double Step)
{
    /// <summary>
    /// The axis for <paramref name="values"/>: the step is the smallest of 1, 2, 5 × 10^k at or above span / target (at
    /// least 1 for integer ticks); ends not fixed by the caller are widened to whole steps. No values: 0 to 1. One value
    /// (or equal values): a span of 1, or 10 % of its size, around it.
    /// </summary>
    public static Axis Nice(IReadOnlyList<double> values, double? fixedMin, double? fixedMax, int target, bool integerTicks)
    {
        if (target < 1) throw new ArgumentOutOfRangeException(nameof(target), $"{target} must be at least 1");
        double lo = fixedMin ?? (values.Count > 0 ? values.Min() : 0);
        double hi = fixedMax ?? (values.Count > 0 ? values.Max() : 1);
        if (fixedMin is null && fixedMax is not null && values.Count == 0) lo = hi - 1;
        if (fixedMax is null && fixedMin is not null && values.Count == 0) hi = lo + 1;
        if (fixedMin is not null && fixedMax is not null && !(fixedMax > fixedMin))
            throw new ArgumentException($"axis range {fixedMin} to {fixedMax} is empty");
        if (!(hi > lo))
        {
            double half = lo == 0 ? 0.5 : Math.Abs(lo) * 0.05;
            if (fixedMin is null) lo -= half;
            if (fixedMax is null) hi += half;
            if (!(hi > lo)) (lo, hi) = fixedMin is null ? (hi - 2 * half, hi) : (lo, lo + 2 * half);
        }
        double step = NiceStep((hi - lo) / target);
        if (integerTicks && step < 1) step = 1;
        // The small tolerance keeps a value that is a whole step up to rounding (0.30000000000000004) on its tick.
        double min = fixedMin ?? Math.Floor(lo / step + 1e-9) * step;
        double max = fixedMax ?? Math.Ceiling(hi / step - 1e-9) * step;
        return new Axis(min, max, step);
    }

    private static double NiceStep(double raw)
    {
        double magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double f = raw / magnitude;
        double nice = f <= 1 + 1e-9 ? 1 : f <= 2 + 1e-9 ? 2 : f <= 5 + 1e-9 ? 5 : 10;
        return nice * magnitude;
    }

    public IEnumerable<double> Ticks()
    {
        long first = (long)Math.Ceiling(Min / Step - 1e-9), last = (long)Math.Floor(Max / Step + 1e-9);
        for (long k = first; k <= last; k++) yield return k * Step;
    }

    /// <summary>A tick's text: as many decimals as the step needs (step 0.05: two; step 20: none).</summary>
    public string Label(double tick)
    {
        int decimals = Math.Max(0, -(int)Math.Floor(Math.Log10(Step) + 1e-9));
        var text = tick.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        // -0.0 would print as "-0".
        return text.TrimStart('-').All(c => c is '0' or '.') ? text.TrimStart('-') : text;
    }
}
