using System.Globalization;
using System.Text;
using MedDistill.Experiments.Runs;
using MedDistill.Experiments.Tables;

namespace MedDistill.Experiments.Reports;

/// <summary>
/// One table of a report: what this harness measured, optionally the paper's published values and a table of
/// differences. <paramref name="Compare"/>, when given, supplies the third number of a cell (e.g. the pipeline's own
/// delta table, or marks such as <c>n/a</c>) instead of the difference computed here. <paramref name="Annotations"/>, when
/// given, holds text shown right after a reproduced value (e.g. <c>±0.05 ↑*</c>: spread and a significance mark).
/// </summary>
public sealed record ReportTable(string Name, ResultTable Reproduced, ResultTable? Published = null, ResultTable? Compare = null, string? Caption = null,
    ResultTable? Annotations = null)
{
    /// <summary>Pictures shown right under the table (its plots), before the report's other figures.</summary>
    public IReadOnlyList<ReportFigure> Figures { get; init; } = [];
}

/// <summary>
/// An image of the report (SVG, PNG); <see cref="Caption"/> defaults to the file name without extension.
/// <see cref="Alternate"/>: the same picture in another format (the SVG beside a PNG), linked under it.
/// </summary>
public sealed record ReportFigure(string Path, string? Caption = null, string? Alternate = null);

/// <summary>
/// Writes report.md: the title, the notes, each table as a Markdown table and the figures embedded by paths relative to
/// the report. A cell with both values reads <c>reproduced (published, difference)</c>, e.g. <c>0.812 (0.810, +0.002)</c>:
/// the reproduced value first because it is what this report is about, the paper's beside it, then reproduced −
/// published with a sign (<c>±</c> for a difference that rounds to zero) and as many decimals as the more precise of
/// the two. A cell with only one value shows it (<c>0.812</c>, or <c>— (0.810)</c> when only the paper has one); a mark
/// such as <c>n/r</c> stands in for its value. Rows and columns are the reproduced table's, in order, followed by any
/// that only the published table has. The output depends only on the arguments (fixed "\n" line ends, no dates).
/// </summary>
public static class ReportWriter
{
    /// <summary>Shown for a missing value beside a present one.</summary>
    public const string Missing = "—";

    /// <summary>The legend line printed under the title when some table has published values.</summary>
    public const string CellLegend = "Cells: reproduced (published, reproduced − published); — = no value.";

    /// <param name="reportDirectory">Where report.md will be: figure paths are written relative to it.</param>
    /// <param name="epilogue">Markdown put after the figures, the report's last section (e.g. a checklist of claims).</param>
    public static string Render(string title, IReadOnlyList<ReportTable> tables, string? notes, IReadOnlyList<ReportFigure> figures, string reportDirectory,
        string? epilogue = null)
    {
        var md = new StringBuilder();
        md.Append("# ").Append(Inline(title)).Append("\n\n");
        if (!string.IsNullOrWhiteSpace(notes)) md.Append(notes.Trim().ReplaceLineEndings("\n")).Append("\n\n");
        if (tables.Any(t => t.Published is not null)) md.Append(CellLegend).Append("\n\n");
        foreach (var table in tables)
        {
            md.Append("## ").Append(Inline(table.Name)).Append("\n\n");
            if (!string.IsNullOrWhiteSpace(table.Caption)) md.Append(table.Caption.Trim().ReplaceLineEndings("\n")).Append("\n\n");
            AppendTable(md, table);
            md.Append('\n');
            foreach (var f in table.Figures) AppendFigure(md, f, reportDirectory);
        }
        if (figures.Count > 0)
        {
            md.Append("## Figures\n\n");
            foreach (var f in figures) AppendFigure(md, f, reportDirectory);
        }
        if (!string.IsNullOrWhiteSpace(epilogue)) md.Append(epilogue.Trim().ReplaceLineEndings("\n")).Append("\n\n");
        return md.ToString().TrimEnd('\n') + "\n";
    }

    /// <summary>Renders the report and writes it to <paramref name="path"/> atomically; figure paths relative to its folder.</summary>
    public static void Write(string path, string title, IReadOnlyList<ReportTable> tables, string? notes, IReadOnlyList<ReportFigure> figures,
        string? epilogue = null)
    {
        var full = Path.GetFullPath(path);
        AtomicFile.WriteAllText(full, Render(title, tables, notes, figures, Path.GetDirectoryName(full)!, epilogue));
    }

    /// <summary>
    /// One cell's text from the reproduced and published cells and an optional difference cell (see the class
    /// summary). Cells are the tables' text: numbers in the invariant culture, marks, or null for empty.
    /// </summary>
    /// <param name="annotation">Text appended to the reproduced value when there is one (see <see cref="ReportTable.Annotations"/>).</param>
    public static string Cell(string? reproduced, string? published, string? difference = null, string? annotation = null)
    {
        if (published is null) return reproduced is null ? "" : reproduced + annotation;
        var shown = reproduced is null ? Missing : reproduced + annotation;
        if (reproduced is null || !IsNumber(reproduced, out var r) || !IsNumber(published, out var p)) return $"{shown} ({published})";
        var delta = difference is not null ? Signed(difference) : Signed(r - p, Math.Max(Decimals(reproduced), Decimals(published)));
        return $"{shown} ({published}, {delta})";
    }

    private static void AppendFigure(StringBuilder md, ReportFigure f, string reportDirectory)
    {
        var caption = f.Caption ?? Path.GetFileNameWithoutExtension(f.Path);
        md.Append("![").Append(Inline(caption).Replace("[", "\\[").Replace("]", "\\]")).Append("](")
          .Append(Link(RelativePath(f.Path, reportDirectory))).Append(")\n\n");
        md.Append('*').Append(Inline(caption)).Append('*');
        if (f.Alternate is not null)
            md.Append(" ([").Append(Path.GetExtension(f.Alternate).TrimStart('.').ToUpperInvariant()).Append("](")
              .Append(Link(RelativePath(f.Alternate, reportDirectory))).Append("))");
        md.Append("\n\n");
    }

    private static void AppendTable(StringBuilder md, ReportTable t)
    {
        var rows = t.Reproduced.RowLabels.ToList();
        var columns = t.Reproduced.Columns.ToList();
        if (t.Published is not null)
        {
            rows.AddRange(t.Published.RowLabels.Where(r => !rows.Contains(r)));
            columns.AddRange(t.Published.Columns.Where(c => !columns.Contains(c)));
        }
        md.Append("| ").Append(Escape(t.Reproduced.LabelColumn));
        foreach (var c in columns) md.Append(" | ").Append(Escape(c));
        md.Append(" |\n| ---");
        foreach (var _ in columns) md.Append(" | ---:");
        md.Append(" |\n");
        foreach (var row in rows)
        {
            md.Append("| ").Append(Escape(row));
            foreach (var c in columns)
            {
                var text = Cell(Lookup(t.Reproduced, row, c), Lookup(t.Published, row, c), Lookup(t.Compare, row, c), Lookup(t.Annotations, row, c));
                md.Append(" | ").Append(Escape(text));
            }
            md.Append(" |\n");
        }
    }

    private static string? Lookup(ResultTable? table, string row, string column) =>
        table is not null && table.RowLabels.Contains(row) && table.Columns.Contains(column) ? table.Cell(row, column) : null;

    private static bool IsNumber(string s, out double v) =>
        double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out v) && double.IsFinite(v);

    private static int Decimals(string number)
    {
        var mantissa = number.Split('e', 'E')[0];
        int dot = mantissa.IndexOf('.');
        return dot < 0 ? 0 : mantissa.Length - dot - 1;
    }

    private static string Signed(double delta, int decimals)
    {
        var magnitude = Math.Abs(delta).ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        if (magnitude.All(ch => ch is '0' or '.')) return "±" + magnitude;
        return (delta > 0 ? "+" : "-") + magnitude;
    }

    /// <summary>A given difference: a number gets a sign like a computed one, keeping its own decimals; a mark stays as it is.</summary>
    private static string Signed(string difference)
    {
        if (!IsNumber(difference, out var d)) return difference;
        var digits = difference.TrimStart('+', '-');
        if (d == 0) return "±" + digits;
        return (d > 0 ? "+" : "-") + digits;
    }

    private static string RelativePath(string path, string reportDirectory)
    {
        var full = Path.GetFullPath(path, Path.GetFullPath(reportDirectory));
        return Path.GetRelativePath(Path.GetFullPath(reportDirectory), full).Replace('\\', '/');
    }

    /// <summary>CommonMark's pointy-bracket link destination takes spaces and parentheses as they are.</summary>
    private static string Link(string path) => path.IndexOfAny([' ', '(', ')']) >= 0 ? "<" + path + ">" : path;

    private static string Inline(string s) => s.ReplaceLineEndings(" ").Trim();

    private static string Escape(string s) => Inline(s).Replace("|", "\\|");
}
