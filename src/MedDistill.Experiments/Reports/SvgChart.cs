using System.Globalization;
using System.Text;

namespace MedDistill.Experiments.Reports;

/// <summary>One named line of a chart: <see cref="X"/>[i], <see cref="Y"/>[i]. A non-finite value (NaN) on either side breaks the line there.</summary>
public sealed record ChartSeries(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y);

/// <summary>
/// A small line chart as SVG text: a title, a plot area with x and y axes, light grid lines and labelled ticks at "nice"
/// steps (1, 2 or 5 × 10^k), one line per series in a distinct colour, and a legend to the right of the plot. Numbers are
/// written in the invariant culture with <see cref="Decimals"/> decimals and elements in a fixed order, so the same chart
/// gives byte-identical text on every machine.
/// </summary>
/// <remarks>
/// Each series is a <c>&lt;g class="series"&gt;</c> holding one <c>&lt;path&gt;</c> (a new subpath after each gap) and a
/// <c>&lt;circle&gt;</c> for each point that has no finite neighbour, which a line alone would not show. The plot area
/// is clipped, so a fixed axis range hides what lies outside it.
/// </remarks>
public sealed record SvgChart
{
    /// <summary>Colours of the series in order (matplotlib's "tab10"); from the 11th series on they repeat dashed.</summary>
    public static IReadOnlyList<string> Palette { get; } =
        ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

    public string Title { get; init; } = "";
    public string XLabel { get; init; } = "";
    public string YLabel { get; init; } = "";
    public IReadOnlyList<ChartSeries> Series { get; init; } = [];

    /// <summary>Size of the picture in SVG user units (pixels).</summary>
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

    /// <summary>Decimals of every coordinate in the file.</summary>
    public int Decimals { get; init; } = 2;

    // Layout in user units. The legend sits in a column right of the plot; its width follows the longest name.
    internal const double MarginLeft = 64, MarginTop = 40, MarginBottom = 52, MarginRight = 16;
    internal const double LegendGap = 16, LegendSwatch = 20, LegendRowHeight = 18, CharWidth = 7;

    /// <summary>The plot area's corners (left, top, right, bottom) in user units.</summary>
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

    /// <summary>Where the data point (<paramref name="x"/>, <paramref name="y"/>) lands in the picture (SVG's y grows downwards).</summary>
    public (double X, double Y) ToPicture(double x, double y)
    {
        var (ax, ay) = Axes;
        return Project(PlotArea, ax, ay, x, y);
    }

    private static (double X, double Y) Project((double Left, double Top, double Right, double Bottom) area, Axis ax, Axis ay, double x, double y) =>
        (area.Left + (x - ax.Min) / (ax.Max - ax.Min) * (area.Right - area.Left),
         area.Bottom - (y - ay.Min) / (ay.Max - ay.Min) * (area.Bottom - area.Top));

    public string ToSvg()
    {
        if (Width < 200 || Height < 150) throw new ArgumentOutOfRangeException(nameof(Width), $"a chart needs at least 200×150, got {Width}×{Height}");
        if (Decimals is < 0 or > 6) throw new ArgumentOutOfRangeException(nameof(Decimals), $"{Decimals} must be in 0–6");
        foreach (var s in Series)
            if (s.X.Count != s.Y.Count) throw new ArgumentException($"series '{s.Name}' has {s.X.Count} x values and {s.Y.Count} y values");
        var (left, top, right, bottom) = PlotArea;
        if (right - left < 40) throw new ArgumentException($"the legend leaves no room for the plot in a chart {Width} wide");
        var (ax, ay) = Axes;
        var area = PlotArea;
        (double X, double Y) ToPicture(double x, double y) => Project(area, ax, ay, x, y);

        var svg = new StringBuilder();
        svg.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width.ToString(Inv)}\" height=\"{Height.ToString(Inv)}\" viewBox=\"0 0 {Width.ToString(Inv)} {Height.ToString(Inv)}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        svg.Append($"<rect width=\"{Width.ToString(Inv)}\" height=\"{Height.ToString(Inv)}\" fill=\"#ffffff\"/>\n");
        svg.Append($"<clipPath id=\"plot-area\"><rect x=\"{N(left)}\" y=\"{N(top)}\" width=\"{N(right - left)}\" height=\"{N(bottom - top)}\"/></clipPath>\n");
        if (Title.Length > 0)
            svg.Append($"<text class=\"title\" x=\"{N((left + right) / 2)}\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">{Escape(Title)}</text>\n");

        // Grid lines and tick labels at every tick; the y labels right-aligned left of the axis.
        svg.Append("<g class=\"grid\" stroke=\"#e0e0e0\" stroke-width=\"1\">\n");
        foreach (var t in ax.Ticks()) { var x = ToPicture(t, ay.Min).X; svg.Append($"<line x1=\"{N(x)}\" y1=\"{N(top)}\" x2=\"{N(x)}\" y2=\"{N(bottom)}\"/>\n"); }
        foreach (var t in ay.Ticks()) { var y = ToPicture(ax.Min, t).Y; svg.Append($"<line x1=\"{N(left)}\" y1=\"{N(y)}\" x2=\"{N(right)}\" y2=\"{N(y)}\"/>\n"); }
        svg.Append("</g>\n");
        svg.Append($"<g class=\"axes\" stroke=\"#000000\" stroke-width=\"1\">\n");
        svg.Append($"<line x1=\"{N(left)}\" y1=\"{N(bottom)}\" x2=\"{N(right)}\" y2=\"{N(bottom)}\"/>\n");
        svg.Append($"<line x1=\"{N(left)}\" y1=\"{N(top)}\" x2=\"{N(left)}\" y2=\"{N(bottom)}\"/>\n");
        foreach (var t in ax.Ticks()) { var x = ToPicture(t, ay.Min).X; svg.Append($"<line x1=\"{N(x)}\" y1=\"{N(bottom)}\" x2=\"{N(x)}\" y2=\"{N(bottom + 5)}\"/>\n"); }
        foreach (var t in ay.Ticks()) { var y = ToPicture(ax.Min, t).Y; svg.Append($"<line x1=\"{N(left - 5)}\" y1=\"{N(y)}\" x2=\"{N(left)}\" y2=\"{N(y)}\"/>\n"); }
        svg.Append("</g>\n");
        svg.Append("<g class=\"tick-labels\" fill=\"#000000\">\n");
        foreach (var t in ax.Ticks())
            svg.Append($"<text x=\"{N(ToPicture(t, ay.Min).X)}\" y=\"{N(bottom + 18)}\" text-anchor=\"middle\">{ax.Label(t)}</text>\n");
        foreach (var t in ay.Ticks())
            svg.Append($"<text x=\"{N(left - 8)}\" y=\"{N(ToPicture(ax.Min, t).Y + 4)}\" text-anchor=\"end\">{ay.Label(t)}</text>\n");
        svg.Append("</g>\n");
        if (XLabel.Length > 0)
            svg.Append($"<text class=\"x-label\" x=\"{N((left + right) / 2)}\" y=\"{N(Height - 12)}\" text-anchor=\"middle\">{Escape(XLabel)}</text>\n");
        if (YLabel.Length > 0)
        {
            double cy = (top + bottom) / 2;
            svg.Append($"<text class=\"y-label\" x=\"16\" y=\"{N(cy)}\" text-anchor=\"middle\" transform=\"rotate(-90 16 {N(cy)})\">{Escape(YLabel)}</text>\n");
        }

        for (int i = 0; i < Series.Count; i++)
        {
            var s = Series[i];
            var (colour, dash) = Style(i);
            svg.Append($"<g class=\"series\" data-name=\"{Escape(s.Name)}\" clip-path=\"url(#plot-area)\">\n");
            var segments = Segments(s);
            var lines = segments.Where(g => g.Count > 1).ToList();
            if (lines.Count > 0)
            {
                var d = string.Join(" ", lines.Select(g => "M" + string.Join(" L", g.Select(p => { var q = ToPicture(p.X, p.Y); return N(q.X) + "," + N(q.Y); }))));
                svg.Append($"<path d=\"{d}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\"{dash}/>\n");
            }
            foreach (var g in segments.Where(g => g.Count == 1))
            {
                var q = ToPicture(g[0].X, g[0].Y);
                svg.Append($"<circle cx=\"{N(q.X)}\" cy=\"{N(q.Y)}\" r=\"2.5\" fill=\"{colour}\"/>\n");
            }
            svg.Append("</g>\n");
        }

        if (Series.Count > 0)
        {
            svg.Append("<g class=\"legend\">\n");
            double lx = right + LegendGap;
            for (int i = 0; i < Series.Count; i++)
            {
                var (colour, dash) = Style(i);
                double y = top + 8 + LegendRowHeight * i;
                svg.Append($"<line x1=\"{N(lx)}\" y1=\"{N(y)}\" x2=\"{N(lx + LegendSwatch)}\" y2=\"{N(y)}\" stroke=\"{colour}\" stroke-width=\"2\"{dash}/>\n");
                svg.Append($"<text x=\"{N(lx + LegendSwatch + 6)}\" y=\"{N(y + 4)}\">{Escape(Series[i].Name)}</text>\n");
            }
            svg.Append("</g>\n");
        }
        svg.Append("</svg>\n");
        return svg.ToString();
    }

    private static (string Colour, string Dash) Style(int index) =>
        (Palette[index % Palette.Count], index >= Palette.Count ? " stroke-dasharray=\"6 3\"" : "");

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

    private string N(double v) => v.ToString("F" + Decimals.ToString(Inv), Inv);

    internal static string Escape(string s) =>
        s.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;").Replace("\"", "&quot;");

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
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
