using ScottPlot;
using MedDistill.Experiments.Runs;

namespace MedDistill.Experiments.Reports;

/// <summary>
/// The pictures that stand next to a report table: reproduced against published per cell (a scatter around the identity
/// line: on the line means reproduced exactly) and bars per column (site) for each row, with the spread over the test
/// cases as error bars and the paper's value as a marker. Each is written as PNG (embedded in report.md) and SVG.
/// </summary>
public static class TablePlots
{
    /// <summary>
    /// The per-case values behind a cell (e.g. each test case's Dice), or null when unknown; the bars then have no
    /// error bar there.
    /// </summary>
    public delegate IReadOnlyList<double>? CaseValues(string row, string column);

    /// <summary>
    /// Writes <c>&lt;table&gt;-vs-published</c> and <c>&lt;table&gt;-bars</c> (.png and .svg) into <paramref name="folder"/>
    /// for a table with published values; none for a table without any numeric pair.
    /// </summary>
    public static IReadOnlyList<ReportFigure> Write(ReportTable table, string folder, CaseValues? cases = null, string valueName = "Dice")
    {
        if (table.Published is null) return [];
        var cells = Pairs(table).ToList();
        if (cells.Count == 0) return [];
        Directory.CreateDirectory(folder);
        var figures = new List<ReportFigure>();
        var name = table.Name;
        figures.Add(Save(Scatter(table, cells, valueName), Path.Combine(folder, $"{name}-vs-published"), 560, 460,
            $"{name}: reproduced against published {valueName} per cell, one colour per row; the dashed line is reproduced = published"));
        int width = Math.Max(720, 60 + 14 * table.Reproduced.RowLabels.Count * table.Reproduced.Columns.Count + 200);
        figures.Add(Save(Bars(table, valueName, cases, width, 440), Path.Combine(folder, $"{name}-bars"), width, 440,
            $"{name}: reproduced {valueName} per column and row (bars; whiskers: ±1 standard deviation over the test cases), published values as black diamonds"));
        return figures;
    }

    /// <summary>Cells where both tables hold a number: (row index, row, column, reproduced, published).</summary>
    private static IEnumerable<(int RowIndex, string Row, string Column, double Reproduced, double Published)> Pairs(ReportTable t)
    {
        var rows = t.Reproduced.RowLabels;
        for (int r = 0; r < rows.Count; r++)
            foreach (var c in t.Reproduced.Columns)
                if (t.Published!.RowLabels.Contains(rows[r]) && t.Published.Columns.Contains(c)
                    && t.Reproduced.Value(rows[r], c) is double rv && t.Published.Value(rows[r], c) is double pv)
                    yield return (r, rows[r], c, rv, pv);
    }

    private static Plot Scatter(ReportTable table, List<(int RowIndex, string Row, string Column, double Reproduced, double Published)> cells, string valueName)
    {
        var plot = ChartStyle.NewPlot($"{table.Name}: reproduced vs published", $"published {valueName}", $"reproduced {valueName}");
        double hi = Math.Max(1, cells.Max(c => Math.Max(c.Reproduced, c.Published)));
        var axis = Axis.Nice([0, hi], 0, null, 5, false);
        var identity = plot.Add.Line(0, 0, axis.Max, axis.Max);
        identity.Color = Colors.Gray;
        identity.LinePattern = LinePattern.Dashed;
        foreach (var group in cells.GroupBy(c => (c.RowIndex, c.Row)))
        {
            var points = plot.Add.Markers(group.Select(c => c.Published).ToArray(), group.Select(c => c.Reproduced).ToArray(),
                MarkerShape.FilledCircle, 7, ChartStyle.Colour(group.Key.RowIndex));
            points.LegendText = group.Key.Row;
        }
        ChartStyle.FixLayout(plot, (64, 40, 340, 408), 560, 460);
        ChartStyle.SetAxis(plot.Axes.Bottom, axis);
        ChartStyle.SetAxis(plot.Axes.Left, axis);
        ChartStyle.LegendRight(plot);
        return plot;
    }

    private static Plot Bars(ReportTable table, string valueName, CaseValues? cases, int width, int height)
    {
        var rows = table.Reproduced.RowLabels;
        var columns = table.Reproduced.Columns;
        var plot = ChartStyle.NewPlot($"{table.Name}: {valueName} per column", "", valueName);
        double slot = 0.8 / rows.Count; // the rows' bars share 80 % of each column's unit width
        var published = new List<(double X, double Y)>();
        double top = 1;
        for (int r = 0; r < rows.Count; r++)
        {
            var bars = new List<Bar>();
            for (int c = 0; c < columns.Count; c++)
            {
                double x = c - 0.4 + slot * (r + 0.5);
                if (table.Reproduced.Value(rows[r], columns[c]) is double v)
                {
                    var spread = cases?.Invoke(rows[r], columns[c]);
                    double sd = spread is { Count: > 1 } ? StandardDeviation(spread) : 0;
                    // ScottPlot draws the whisker with the bar's outline style: both thin and black.
                    bars.Add(new Bar
                    {
                        Position = x, Value = v, Error = sd, ErrorSize = slot * 0.5, Size = slot * 0.9, FillColor = ChartStyle.Colour(r),
                        LineColor = Colors.Black, LineWidth = 0.5f,
                    });
                    top = Math.Max(top, v + sd);
                }
                if (table.Published!.RowLabels.Contains(rows[r]) && table.Published.Columns.Contains(columns[c])
                    && table.Published.Value(rows[r], columns[c]) is double p)
                {
                    published.Add((x, p));
                    top = Math.Max(top, p);
                }
            }
            if (bars.Count == 0) continue;
            var plotted = plot.Add.Bars(bars);
            plotted.LegendText = rows[r];
        }
        if (published.Count > 0)
        {
            var markers = plot.Add.Markers(published.Select(p => p.X).ToArray(), published.Select(p => p.Y).ToArray(), MarkerShape.FilledDiamond, 6, Colors.Black);
            markers.LegendText = "published";
        }
        // The legend column is as wide as the longest name needs; the data area takes the rest.
        double legend = 16 + 20 + 6 + 7 * rows.Append("published").Max(n => n.Length);
        ChartStyle.FixLayout(plot, (64, 40, width - 48 - legend, height - 40), width, height);
        ChartStyle.SetCategories(plot.Axes.Bottom, columns);
        ChartStyle.SetAxis(plot.Axes.Left, Axis.Nice([0, top], 0, null, 5, false));
        ChartStyle.LegendRight(plot);
        return plot;
    }

    private static double StandardDeviation(IReadOnlyList<double> values)
    {
        double mean = values.Average();
        return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1));
    }

    private static ReportFigure Save(Plot plot, string pathWithoutExtension, int width, int height, string caption)
    {
        var png = pathWithoutExtension + ".png";
        var svg = pathWithoutExtension + ".svg";
        var bytes = plot.GetImageBytes(width, height, ImageFormat.Png);
        AtomicFile.Write(png, s => s.Write(bytes));
        AtomicFile.WriteAllText(svg, ChartStyle.Svg(plot, width, height));
        return new ReportFigure(png, caption, svg);
    }
}
