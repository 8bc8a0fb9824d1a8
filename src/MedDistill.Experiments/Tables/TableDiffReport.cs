using System.Globalization;
using System.Text;

namespace MedDistill.Experiments.Tables;

/// <summary>Renders a <see cref="TableDiffResult"/> as Markdown (for people and CI logs) or long-format CSV (for tools).</summary>
public static class TableDiffReport
{
    /// <summary>The status as written in reports: same, changed, improved, regressed, added, removed, text-changed.</summary>
    public static string StatusName(CellStatus status) => status switch
    {
        CellStatus.TextChanged => "text-changed",
        _ => status.ToString().ToLowerInvariant(),
    };

    /// <summary>B − A with an explicit sign and the cells' decimals (0.8100 − 0.8000 → <c>+0.0100</c>); empty without a delta.</summary>
    public static string FormatDelta(decimal? delta) => delta switch
    {
        null => "",
        > 0 => "+" + delta.Value.ToString(CultureInfo.InvariantCulture),
        _ => delta.Value.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>The line every report ends with, and the one the CLI repeats when the report goes to a file.</summary>
    public static string SummaryLine(TableDiffResult result) =>
        $"{result.CellsCompared} cells compared, {result.CellsChanged} changed, {result.Regressions} regressions";

    /// <summary>
    /// Markdown: a header naming both sides and the tolerance, one section per table with its structural differences and
    /// a cell table (only cells that differ unless <paramref name="allCells"/>), then the summary line.
    /// </summary>
    public static string ToMarkdown(TableDiffResult result, string descriptionA, string descriptionB, bool allCells = false)
    {
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        sb.Append("# Table diff\n\n");
        sb.Append("- A: ").Append(Escape(descriptionA)).Append('\n');
        sb.Append("- B: ").Append(Escape(descriptionB)).Append('\n');
        sb.Append("- tolerance: ").Append(result.Options.Tolerance.ToString(inv)).Append(" (B < A − tolerance is a regression; higher is better)\n");
        sb.Append("- informational (never regress): ")
            .Append(result.Options.InformationalPatterns.Count == 0 ? "none" : string.Join(", ", result.Options.InformationalPatterns.Select(p => $"`{p}`")))
            .Append('\n');
        if (result.Tables.Count == 0) sb.Append("\nNo tables on either side.\n");

        foreach (var t in result.Tables)
        {
            sb.Append("\n## ").Append(Escape(t.Name));
            if (t.Informational) sb.Append(" (informational)");
            sb.Append("\n\n");
            if (!t.InA) sb.Append("Only in B (new table).\n\n");
            if (!t.InB) sb.Append("Only in A: **missing in B**.\n\n");
            AppendList(sb, "Rows only in A", t.RowsOnlyInA);
            AppendList(sb, "Rows only in B", t.RowsOnlyInB);
            AppendList(sb, "Columns only in A", t.ColumnsOnlyInA);
            AppendList(sb, "Columns only in B", t.ColumnsOnlyInB);

            var shown = t.Cells.Where(c => allCells || c.Status != CellStatus.Same).ToList();
            int changed = t.Cells.Count(c => c.Status != CellStatus.Same);
            if (shown.Count == 0)
            {
                sb.Append(t.Cells.Count == 0 ? "No cells.\n" : $"All {t.Cells.Count} cells the same.\n");
                continue;
            }
            sb.Append("| row | column | A | B | delta | status |\n");
            sb.Append("|---|---|---:|---:|---:|---|\n");
            foreach (var c in shown)
            {
                string status = StatusName(c.Status);
                if (c.IsRegression) status = $"**{status.ToUpperInvariant()}**";
                sb.Append("| ").Append(Escape(c.Row))
                    .Append(" | ").Append(Escape(c.Column))
                    .Append(" | ").Append(Escape(c.A ?? ""))
                    .Append(" | ").Append(Escape(c.B ?? ""))
                    .Append(" | ").Append(FormatDelta(c.Delta))
                    .Append(" | ").Append(status).Append(" |\n");
            }
            sb.Append('\n').Append(string.Create(inv, $"{t.Cells.Count} cells, {changed} changed, {t.Regressions} regressions.\n"));
        }

        sb.Append('\n');
        var breakdown = Enum.GetValues<CellStatus>().Where(s => s != CellStatus.Same && result.Count(s) > 0)
            .Select(s => $"{StatusName(s)} {result.Count(s)}").ToList();
        if (breakdown.Count > 0) sb.Append("By status: ").Append(string.Join(", ", breakdown)).Append(".\n\n");
        sb.Append("**").Append(SummaryLine(result)).Append("**\n");
        return sb.ToString();
    }

    /// <summary>
    /// Long-format CSV, one line per cell: <c>table,row,column,a,b,delta,status,regression</c> (regression 1 or 0, since a
    /// removed cell of an informational table is not one). Only cells that differ unless <paramref name="allCells"/>.
    /// </summary>
    public static string ToCsv(TableDiffResult result, bool allCells = false)
    {
        var header = new[] { (IReadOnlyList<string?>)["table", "row", "column", "a", "b", "delta", "status", "regression"] };
        var cells = result.Cells.Where(c => allCells || c.Status != CellStatus.Same)
            .Select(c => (IReadOnlyList<string?>)[c.Table, c.Row, c.Column, c.A, c.B, FormatDelta(c.Delta), StatusName(c.Status), c.IsRegression ? "1" : "0"]);
        return Shared.Csv.Write(header.Concat(cells));
    }

    private static void AppendList(StringBuilder sb, string title, IReadOnlyList<string> items)
    {
        if (items.Count == 0) return;
        sb.Append(title).Append(": ").Append(string.Join(", ", items.Select(Escape))).Append("\n\n");
    }

    // A pipe would end the Markdown cell early; a newline would end the row.
    private static string Escape(string s) => s.Replace("|", "\\|", StringComparison.Ordinal).Replace("\r", "", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal);
}
