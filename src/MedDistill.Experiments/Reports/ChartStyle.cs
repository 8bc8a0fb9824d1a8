using System.Globalization;
using System.Text.RegularExpressions;
using ScottPlot;

namespace MedDistill.Experiments.Reports;

/// <summary>
/// The look every report chart shares, on ScottPlot: one font, one palette, a layout fixed in pixels and tick labels
/// formatted here. ScottPlot would otherwise measure text to place the axes and pick the first installed font, so
/// the same chart could come out differently on two machines.
/// </summary>
public static partial class ChartStyle
{
    /// <summary>
    /// DejaVu Sans: Debian's default sans-serif (fonts-dejavu-core, which build.sh installs). Named, not left to
    /// ScottPlot's guess, so that the SVG and the PNG's glyphs are the same wherever the report is made.
    /// </summary>
    public const string Font = "DejaVu Sans";

    /// <summary>matplotlib's "tab10", the colours readers of the papers know.</summary>
    public static IReadOnlyList<string> Palette { get; } =
        ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

    /// <summary>The palette's colour for series <paramref name="index"/>; past the tenth, the same ten darkened, so eleven rows stay apart.</summary>
    public static Color Colour(int index) =>
        index < Palette.Count ? Color.FromHex(Palette[index]) : Color.FromHex(Palette[index % Palette.Count]).Darken(0.45);

    public static Plot NewPlot(string title, string xLabel, string yLabel)
    {
        var plot = new Plot();
        plot.Font.Set(Font);
        if (title.Length > 0) plot.Title(title, 15);
        if (xLabel.Length > 0) plot.XLabel(xLabel, 12);
        if (yLabel.Length > 0) plot.YLabel(yLabel, 12);
        plot.Grid.MajorLineColor = Color.FromHex("#e0e0e0");
        return plot;
    }

    /// <summary>Pins the data area to <paramref name="area"/> (left, top, right, bottom, in pixels of a picture of the given size).</summary>
    public static void FixLayout(Plot plot, (double Left, double Top, double Right, double Bottom) area, int width, int height) =>
        plot.Layout.Fixed(new PixelPadding((float)area.Left, (float)(width - area.Right), (float)(height - area.Bottom), (float)area.Top));

    /// <summary>Sets an axis to <paramref name="axis"/>'s range with a tick and an invariant-culture label at every step.</summary>
    public static void SetAxis(ScottPlot.IAxis target, Axis axis)
    {
        var ticks = axis.Ticks().ToArray();
        target.SetTicks(ticks, ticks.Select(axis.Label).ToArray());
        target.Range.Set(axis.Min, axis.Max);
    }

    /// <summary>Ticks at 0, 1, ... with the given names (bars per site, per model).</summary>
    public static void SetCategories(ScottPlot.IAxis target, IReadOnlyList<string> names)
    {
        target.SetTicks(Enumerable.Range(0, names.Count).Select(i => (double)i).ToArray(), names.ToArray());
        target.Range.Set(-0.6, names.Count - 0.4);
    }

    /// <summary>The legend in the column right of the data area that the fixed layout leaves free.</summary>
    public static void LegendRight(Plot plot)
    {
        plot.Legend.FontName = Font;
        plot.Legend.FontSize = 12;
        plot.ShowLegend(Edge.Right);
        // The right axis panel (empty here) would sit between the data area and the legend and push it off the picture.
        plot.Axes.Right.IsVisible = false;
    }

    /// <summary>
    /// The plot as SVG. Skia's SVG canvas numbers clip paths from a counter shared by the whole process (cl_9 in one
    /// chart, cl_c in the next), so they are renumbered here in order of appearance: the same chart, the same text.
    /// </summary>
    public static string Svg(Plot plot, int width, int height)
    {
        var svg = plot.GetSvgXml(width, height);
        var ids = new Dictionary<string, string>();
        return ClipId().Replace(svg, m =>
        {
            if (!ids.TryGetValue(m.Value, out var id)) ids[m.Value] = id = "clip" + (ids.Count + 1).ToString(CultureInfo.InvariantCulture);
            return id;
        });
    }

    [GeneratedRegex(@"\bcl_[0-9a-f]+\b")]
    private static partial Regex ClipId();

    /// <summary>A number as a label: <paramref name="decimals"/> decimals, invariant culture.</summary>
    public static string Number(double value, int decimals) => value.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
}
