using System.Globalization;
using MedDistill.Experiments.Tables;
using MedDistill.Evaluation;
using MedDistill.Experiments.Evaluation;
using MedDistill.Experiments.Runs;
using MedDistill.Shared;

namespace MedDistill.Experiments.Papers;

/// <summary>A regenerated table: the reproduced values in the paper's layout, the published ones, and the cell-by-cell comparison.</summary>
public sealed record BuiltTable(string Name, ResultTable Reproduced, ResultTable Published, string CompareCsv, string Notes, int MissingCells)
{
    /// <summary>Spread, case count and paired test of every reproduced cell (see <see cref="AffinityKdStatistics"/>).</summary>
    public IReadOnlyList<CellStats> Stats { get; init; } = [];
}

/// <summary>What every paper's tables share: writing a built table, its long-format comparison, and the spread marks.</summary>
public static class PaperTables
{
    public const int Decimals = 4;

    /// <summary>Writes &lt;table&gt;.csv, &lt;table&gt;.compare.csv and &lt;table&gt;.notes.md into <paramref name="folder"/>; returns the paths.</summary>
    public static IReadOnlyList<string> Write(BuiltTable table, string folder)
    {
        Directory.CreateDirectory(folder);
        var csv = Path.Combine(folder, table.Name + ".csv");
        var compare = Path.Combine(folder, table.Name + ".compare.csv");
        var notes = Path.Combine(folder, table.Name + ".notes.md");
        table.Reproduced.Write(csv);
        AtomicFile.WriteAllText(compare, table.CompareCsv);
        AtomicFile.WriteAllText(notes, table.Notes);
        return [csv, compare, notes];
    }

    /// <summary>
    /// Long format, one line per cell: row, column, published, reproduced, delta (reproduced − published), then from
    /// <paramref name="stats"/> the sample std, the case count n (sites on the mean column), the Wilcoxon p-value against
    /// the baseline and the baseline's row (vs); those four are empty where a cell has no statistics or no baseline.
    /// </summary>
    public static string Compare(ResultTable reproduced, ResultTable published, IReadOnlyList<CellStats>? stats = null)
    {
        var byCell = (stats ?? []).ToDictionary(s => (s.Row, s.Column));
        var records = new List<string?[]> { new[] { "row", "column", "published", "reproduced", "delta", "std", "n", "p_value", "vs" } };
        foreach (var row in published.RowLabels)
            foreach (var col in published.Columns)
            {
                var p = published.Value(row, col);
                var r = reproduced.Value(row, col);
                string delta = p is double pv && r is double rv ? (rv - pv).ToString("+0.0000;-0.0000;0.0000", CultureInfo.InvariantCulture) : "";
                var s = r is not null && byCell.TryGetValue((row, col), out var found) ? found : null;
                records.Add([row, col, published.Cell(row, col) ?? "", reproduced.Cell(row, col) ?? "", delta,
                    s?.Std is double sd ? ResultTable.Format(sd, Decimals) : "",
                    s is { N: > 0 } ? s.N.ToString(CultureInfo.InvariantCulture) : "",
                    s?.PValue is double pval ? AffinityKdStatistics.FormatP(pval) : "",
                    s?.Vs ?? ""]);
            }
        return Csv.Write(records);
    }

    /// <summary>The text after each reproduced value: <c>±std</c> (three decimals) and the significance mark.</summary>
    public static ResultTable Annotations(BuiltTable t)
    {
        var table = new ResultTable(t.Reproduced.LabelColumn, t.Reproduced.Columns);
        foreach (var row in t.Reproduced.RowLabels)
        {
            var cells = new Dictionary<string, string?>();
            foreach (var s in t.Stats.Where(s => s.Row == row && t.Reproduced.Columns.Contains(s.Column)))
            {
                var mark = AffinityKdStatistics.Mark(s);
                var text = (s.Std is double sd ? "±" + ResultTable.Format(sd, 3) : "") + (mark.Length > 0 ? " " + mark : "");
                if (text.Length > 0) cells[s.Column] = text;
            }
            table.AddRow(row, cells);
        }
        return table;
    }

    /// <summary>
    /// A cell's per-case spread and, when <paramref name="baseline"/> is given, the two-sided Wilcoxon signed-rank test
    /// against it on the cases both have (the papers whose tables compare each row with one baseline row).
    /// </summary>
    public static CellStats PairedStats(string table, string row, string column, double? value, IReadOnlyDictionary<string, double> cases,
        IReadOnlyDictionary<string, double>? baseline, string? baselineRow)
    {
        var v = cases.Values.ToList();
        double? std = v.Count > 1 ? Math.Sqrt(v.Sum(x => (x - v.Average()) * (x - v.Average())) / (v.Count - 1)) : null;
        if (baseline is null) return new CellStats(table, row, column, value, std, v.Count, null, 0, null);
        var ids = cases.Keys.Where(baseline.ContainsKey).Order(StringComparer.Ordinal).ToList();
        if (ids.Count == 0) return new CellStats(table, row, column, value, std, v.Count, null, 0, null);
        var test = MedDistill.Evaluation.Statistics.Wilcoxon.Test(ids.Select(i => cases[i]).ToList(), ids.Select(i => baseline[i]).ToList());
        return new CellStats(table, row, column, value, std, v.Count, test.Used > 0 ? test.PValue : null, test.Direction, baselineRow);
    }

    /// <summary>The published table when someone typed it in, else the same layout with every cell empty.</summary>
    public static ResultTable ReadPublished(string path, IReadOnlyList<string> rows, IReadOnlyList<string> columns)
    {
        if (File.Exists(path)) return ResultTable.Read(path);
        var empty = new ResultTable("method", columns);
        foreach (var row in rows) empty.AddRow(row, new Dictionary<string, string?>());
        return empty;
    }
}
