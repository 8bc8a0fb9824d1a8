using System.Globalization;
using System.Text.RegularExpressions;

namespace MedDistill.Experiments.Tables;

/// <summary>What happened to one cell between side A (the reference, e.g. the last good tables) and side B.</summary>
public enum CellStatus
{
    /// <summary>Same number (0.80 and 0.8000 are the same), same mark, or empty on both sides.</summary>
    Same,
    /// <summary>Both numbers, different, but |B − A| ≤ tolerance (in informational tables: any difference).</summary>
    Changed,
    /// <summary>Both numbers and B &gt; A + tolerance.</summary>
    Improved,
    /// <summary>Both numbers and B &lt; A − tolerance. Counts as a regression.</summary>
    Regressed,
    /// <summary>A number in B where A had nothing or a mark (e.g. <c>n/r</c> became a value).</summary>
    Added,
    /// <summary>A number in A where B has nothing or a mark. Counts as a regression: a rerun that lost a value must fail.</summary>
    Removed,
    /// <summary>No number on either side but the text differs (a mark appeared, vanished or changed).</summary>
    TextChanged,
}

/// <summary>The choices of a comparison; every default is documented in docs/readme-tablediff.md.</summary>
public sealed record TableDiffOptions
{
    public const double DefaultTolerance = 0.01;

    /// <summary>
    /// How far B may fall below A before the cell counts as regressed, and how far it must rise to count as improved.
    /// In the tables' own units (Dice, 0..1), inclusive: a drop of exactly the tolerance is only "changed".
    /// </summary>
    public double Tolerance { get; init; } = DefaultTolerance;

    /// <summary>
    /// Table names (glob: <c>*</c> any run of characters, <c>?</c> one) whose changes are reported but never count as
    /// regressions. Default <c>table1*</c>: Table 1 holds parameter counts and FLOPs, where "higher is better" is wrong.
    /// </summary>
    public IReadOnlyList<string> InformationalPatterns { get; init; } = ["table1*"];

    /// <summary>The tables to compare by name (file name without <c>.csv</c>); null compares every table of either side.</summary>
    public IReadOnlyList<string>? Tables { get; init; }

    internal decimal ToleranceAsDecimal()
    {
        if (!double.IsFinite(Tolerance) || Tolerance < 0)
            throw new ArgumentException($"the tolerance must be a finite number ≥ 0, not {Tolerance.ToString(CultureInfo.InvariantCulture)}");
        // Cells are compared as decimals so that 0.8100 − 0.8000 is exactly 0.0100 and the boundary is where it is written.
        return Tolerance >= 1e27 ? decimal.MaxValue : (decimal)Tolerance;
    }
}

/// <summary>One cell of the union of both sides. <see cref="Delta"/> is B − A, set only when both cells are numbers.</summary>
public sealed record CellDiff(
    string Table, string Row, string Column, string? A, string? B, decimal? Delta, CellStatus Status, bool IsRegression);

/// <summary>One table name of the union of both sides, with its structural differences and every cell of the union.</summary>
public sealed record TableComparison(
    string Name,
    bool InA,
    bool InB,
    bool Informational,
    IReadOnlyList<string> RowsOnlyInA,
    IReadOnlyList<string> RowsOnlyInB,
    IReadOnlyList<string> ColumnsOnlyInA,
    IReadOnlyList<string> ColumnsOnlyInB,
    IReadOnlyList<CellDiff> Cells)
{
    public int Regressions => Cells.Count(c => c.IsRegression);
}

public sealed record TableDiffResult(IReadOnlyList<TableComparison> Tables, TableDiffOptions Options)
{
    public IEnumerable<CellDiff> Cells => Tables.SelectMany(t => t.Cells);

    /// <summary>Every cell of the union of both sides (a table or row on one side only contributes its cells too).</summary>
    public int CellsCompared => Tables.Sum(t => t.Cells.Count);

    /// <summary>Cells whose status is anything but <see cref="CellStatus.Same"/>.</summary>
    public int CellsChanged => Tables.Sum(t => t.Cells.Count(c => c.Status != CellStatus.Same));

    public int Regressions => Tables.Sum(t => t.Regressions);

    public bool HasRegressions => Regressions > 0;

    public int Count(CellStatus status) => Tables.Sum(t => t.Cells.Count(c => c.Status == status));
}

/// <summary>
/// Compares two sets of result tables (name → table) cell by cell. Higher is better (Dice): a number that drops by more
/// than the tolerance, or disappears, is a regression. A table, row or column on one side only is compared against
/// empty cells, so its values show up as added or removed and a lost table fails like a lost cell.
/// </summary>
public static class TableDiff
{
    public static TableDiffResult Compare(
        IReadOnlyDictionary<string, ResultTable> a, IReadOnlyDictionary<string, ResultTable> b, TableDiffOptions? options = null)
    {
        options ??= new TableDiffOptions();
        decimal tolerance = options.ToleranceAsDecimal();
        var informational = options.InformationalPatterns.Select(GlobToRegex).ToList();

        List<string> names;
        if (options.Tables is { } wanted)
        {
            var unknown = wanted.Where(n => !a.ContainsKey(n) && !b.ContainsKey(n)).ToList();
            if (unknown.Count > 0)
                throw new ArgumentException(
                    $"no table {string.Join(", ", unknown.Select(u => $"'{u}'"))} on either side " +
                    $"(tables: {string.Join(", ", a.Keys.Union(b.Keys).Order(StringComparer.Ordinal))})");
            names = wanted.Distinct(StringComparer.Ordinal).ToList();
        }
        else
        {
            names = a.Keys.Union(b.Keys).Order(StringComparer.Ordinal).ToList();
        }

        var tables = new List<TableComparison>();
        foreach (var name in names)
        {
            a.TryGetValue(name, out var ta);
            b.TryGetValue(name, out var tb);
            bool isInformational = informational.Any(r => r.IsMatch(name));
            tables.Add(CompareTable(name, ta, tb, tolerance, isInformational));
        }
        return new TableDiffResult(tables, options);
    }

    /// <summary>Status of one cell pair; <paramref name="informational"/> cells report changes but never regress.</summary>
    public static CellDiff CompareCell(
        string table, string row, string column, string? a, string? b, double tolerance, bool informational = false) =>
        CompareCell(table, row, column, a, b, new TableDiffOptions { Tolerance = tolerance }.ToleranceAsDecimal(), informational);

    private static CellDiff CompareCell(string table, string row, string column, string? a, string? b, decimal tolerance, bool informational)
    {
        decimal? va = ParseNumber(a), vb = ParseNumber(b);
        decimal? delta = null;
        CellStatus status;
        if (va is decimal x && vb is decimal y)
        {
            decimal d = y - x;
            delta = d;
            if (d == 0) status = CellStatus.Same;
            // Parameter counts and FLOPs have their own units and no "better" direction: any difference is just a change.
            else if (informational || Math.Abs(d) <= tolerance) status = CellStatus.Changed;
            else status = d > 0 ? CellStatus.Improved : CellStatus.Regressed;
        }
        else if (va is not null) status = CellStatus.Removed;
        else if (vb is not null) status = CellStatus.Added;
        else status = string.Equals(a ?? "", b ?? "", StringComparison.Ordinal) ? CellStatus.Same : CellStatus.TextChanged;

        bool regression = !informational && status is CellStatus.Regressed or CellStatus.Removed;
        return new CellDiff(table, row, column, a, b, delta, status, regression);
    }

    /// <summary>A cell's number, or null for empty cells and marks. Decimal, so fixed-decimal cells subtract exactly.</summary>
    public static decimal? ParseNumber(string? cell) =>
        !string.IsNullOrWhiteSpace(cell) && decimal.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : null;

    private static TableComparison CompareTable(string name, ResultTable? a, ResultTable? b, decimal tolerance, bool informational)
    {
        var rowsA = a?.RowLabels ?? [];
        var rowsB = b?.RowLabels ?? [];
        var colsA = a?.Columns ?? [];
        var colsB = b?.Columns ?? [];
        // A's order first, then what only B has: the report reads like the reference table with B's additions at the end.
        var rows = rowsA.Concat(rowsB.Where(r => !rowsA.Contains(r))).ToList();
        var cols = colsA.Concat(colsB.Where(c => !colsA.Contains(c))).ToList();

        var cells = new List<CellDiff>(rows.Count * cols.Count);
        foreach (var row in rows)
        {
            bool rowInA = rowsA.Contains(row), rowInB = rowsB.Contains(row);
            foreach (var col in cols)
            {
                string? ca = rowInA && colsA.Contains(col) ? a!.Cell(row, col) : null;
                string? cb = rowInB && colsB.Contains(col) ? b!.Cell(row, col) : null;
                cells.Add(CompareCell(name, row, col, ca, cb, tolerance, informational));
            }
        }

        // Structural differences matter only when both sides have the table; a one-sided table is reported as such.
        bool both = a is not null && b is not null;
        return new TableComparison(
            name, a is not null, b is not null, informational,
            both ? rowsA.Where(r => !rowsB.Contains(r)).ToList() : [],
            both ? rowsB.Where(r => !rowsA.Contains(r)).ToList() : [],
            both ? colsA.Where(c => !colsB.Contains(c)).ToList() : [],
            both ? colsB.Where(c => !colsA.Contains(c)).ToList() : [],
            cells);
    }

    internal static Regex GlobToRegex(string pattern)
    {
        if (string.IsNullOrWhiteSpace(pattern)) throw new ArgumentException("an informational table pattern must not be empty");
        var body = Regex.Escape(pattern).Replace(@"\*", ".*", StringComparison.Ordinal).Replace(@"\?", ".", StringComparison.Ordinal);
        return new Regex("^" + body + "$", RegexOptions.CultureInvariant);
    }
}
