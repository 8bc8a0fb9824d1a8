using MedDistill.Experiments.Tables;

namespace MedDistill.Experiments.Tests;

/// <summary>
/// Cell-by-cell comparison of result tables. Every expected status and delta below is worked out by hand from the
/// literal cells, with the default tolerance 0.01 unless a test says otherwise.
/// </summary>
public class TableDiffTests
{
    private static ResultTable Table(string csv) => ResultTable.Parse(csv, "test.csv");

    private static Dictionary<string, ResultTable> Set(params (string Name, string Csv)[] tables) =>
        tables.ToDictionary(t => t.Name, t => Table(t.Csv));

    private static CellDiff Cell(TableDiffResult r, string table, string row, string column) =>
        r.Cells.Single(c => c.Table == table && c.Row == row && c.Column == column);

    [Test]
    public void EveryStatus_FromHandMadeCells()
    {
        var a = Set(("table2",
            "model,S1,S2,S3,S4,S5,S6,mean\n" +
            "ENet,0.8000,0.8000,0.8000,0.8000,0.8000,n/r,0.80\n" +
            "ERFNet,,0.7000,n/r,,0.7000,n/r,\n"));
        var b = Set(("table2",
            "model,S1,S2,S3,S4,S5,S6,mean\n" +
            // S1 same, S2 −0.005 changed, S3 +0.05 improved, S4 −0.05 regressed, S5 lost, S6 mark kept, mean 0.80 = 0.8000
            "ENet,0.8000,0.7950,0.8500,0.7500,,n/r,0.8000\n" +
            // S1 empty both, S2 number→mark (removed), S3 mark→number (added), S4 empty→number (added), S5 equal, S6 mark→other mark
            "ERFNet,,n/r,0.6000,0.6500,0.7000,skip,\n"));

        var r = TableDiff.Compare(a, b);
        var expected = new (string Row, string Col, CellStatus Status, decimal? Delta, bool Regression)[]
        {
            ("ENet", "S1", CellStatus.Same, 0.0000m, false),
            ("ENet", "S2", CellStatus.Changed, -0.0050m, false),
            ("ENet", "S3", CellStatus.Improved, 0.0500m, false),
            ("ENet", "S4", CellStatus.Regressed, -0.0500m, true),
            ("ENet", "S5", CellStatus.Removed, null, true),
            ("ENet", "S6", CellStatus.Same, null, false),
            ("ENet", "mean", CellStatus.Same, 0m, false),
            ("ERFNet", "S1", CellStatus.Same, null, false),
            ("ERFNet", "S2", CellStatus.Removed, null, true),
            ("ERFNet", "S3", CellStatus.Added, null, false),
            ("ERFNet", "S4", CellStatus.Added, null, false),
            ("ERFNet", "S5", CellStatus.Same, 0m, false),
            ("ERFNet", "S6", CellStatus.TextChanged, null, false),
            ("ERFNet", "mean", CellStatus.Same, null, false),
        };
        Assert.Multiple(() =>
        {
            foreach (var (row, col, status, delta, regression) in expected)
            {
                var c = Cell(r, "table2", row, col);
                Assert.That(c.Status, Is.EqualTo(status), $"{row}/{col}");
                Assert.That(c.Delta, Is.EqualTo(delta), $"{row}/{col} delta");
                Assert.That(c.IsRegression, Is.EqualTo(regression), $"{row}/{col} regression");
            }
            Assert.That(r.CellsCompared, Is.EqualTo(14));
            // Not "same": ENet S2..S5, ERFNet S2, S3, S4, S6.
            Assert.That(r.CellsChanged, Is.EqualTo(8));
            Assert.That(r.Regressions, Is.EqualTo(3));
            Assert.That(r.HasRegressions, Is.True);
        });
    }

    [Test]
    public void ToleranceBoundary_IsInclusive_AndExactForFixedDecimals()
    {
        // In doubles 0.8100 − 0.8000 is 0.010000000000000009 and would cross the boundary; decimals keep it at 0.0100.
        var a = Set(("t", "model,down,down2,up,up2\nm,0.8000,0.8000,0.8000,0.8000\n"));
        var b = Set(("t", "model,down,down2,up,up2\nm,0.7900,0.7899,0.8100,0.8101\n"));

        var r = TableDiff.Compare(a, b);
        Assert.Multiple(() =>
        {
            Assert.That(Cell(r, "t", "m", "down").Status, Is.EqualTo(CellStatus.Changed));
            Assert.That(Cell(r, "t", "m", "down").Delta, Is.EqualTo(-0.0100m));
            Assert.That(Cell(r, "t", "m", "down2").Status, Is.EqualTo(CellStatus.Regressed));
            Assert.That(Cell(r, "t", "m", "down2").Delta, Is.EqualTo(-0.0101m));
            Assert.That(Cell(r, "t", "m", "up").Status, Is.EqualTo(CellStatus.Changed));
            Assert.That(Cell(r, "t", "m", "up2").Status, Is.EqualTo(CellStatus.Improved));
            Assert.That(r.Regressions, Is.EqualTo(1));
        });

        var strict = TableDiff.Compare(a, b, new TableDiffOptions { Tolerance = 0 });
        Assert.That(strict.Cells.Select(c => c.Status), Is.EqualTo(new[]
            { CellStatus.Regressed, CellStatus.Regressed, CellStatus.Improved, CellStatus.Improved }));

        var loose = TableDiff.Compare(a, b, new TableDiffOptions { Tolerance = 0.05 });
        Assert.That(loose.Cells.Select(c => c.Status), Is.All.EqualTo(CellStatus.Changed));
    }

    [Test]
    public void EqualNumbersWrittenDifferently_AreTheSame()
    {
        var r = TableDiff.Compare(Set(("t", "model,S1,S2\nm,0.80,1e-1\n")), Set(("t", "model,S1,S2\nm,0.8000,0.1\n")));
        Assert.That(r.Cells.Select(c => c.Status), Is.All.EqualTo(CellStatus.Same));
        Assert.That(r.CellsChanged, Is.Zero);
    }

    [Test]
    public void InformationalTables_ReportChangesButNeverRegress()
    {
        var a = Set(("table1", "method,params,gflops,input\nENet,353761,2.204,384x384\nESPNet,183643,1.272,384x384\n"),
                    ("table1-mri", "method,params\nENet,353545\n"),
                    ("table2", "model,S1\nENet,0.8000\n"));
        var b = Set(("table1", "method,params,gflops,input\nENet,353000,2.500,256x256\n"),
                    ("table1-mri", "method,params\nENet,353545\n"),
                    ("table2", "model,S1\nENet,0.7000\n"));

        var r = TableDiff.Compare(a, b);
        Assert.Multiple(() =>
        {
            Assert.That(r.Tables.Single(t => t.Name == "table1").Informational, Is.True);
            Assert.That(r.Tables.Single(t => t.Name == "table1-mri").Informational, Is.True);
            Assert.That(r.Tables.Single(t => t.Name == "table2").Informational, Is.False);
            // Far beyond the tolerance in both directions, still only "changed": no better direction for parameters.
            Assert.That(Cell(r, "table1", "ENet", "params").Status, Is.EqualTo(CellStatus.Changed));
            Assert.That(Cell(r, "table1", "ENet", "params").Delta, Is.EqualTo(-761m));
            Assert.That(Cell(r, "table1", "ENet", "gflops").Status, Is.EqualTo(CellStatus.Changed));
            Assert.That(Cell(r, "table1", "ENet", "input").Status, Is.EqualTo(CellStatus.TextChanged));
            // ESPNet's row vanished: removed, but not a regression in an informational table.
            Assert.That(Cell(r, "table1", "ESPNet", "params").Status, Is.EqualTo(CellStatus.Removed));
            Assert.That(Cell(r, "table1", "ESPNet", "params").IsRegression, Is.False);
            Assert.That(r.Tables.Single(t => t.Name == "table1").RowsOnlyInA, Is.EqualTo(new[] { "ESPNet" }));
            // Only table2's drop of 0.1 counts.
            Assert.That(r.Regressions, Is.EqualTo(1));
        });

        // With no informational patterns Table 1's drops and lost row count too: params and gflops of the lost row, params of ENet.
        var none = TableDiff.Compare(a, b, new TableDiffOptions { InformationalPatterns = [] });
        Assert.That(none.Tables.Single(t => t.Name == "table1").Regressions, Is.EqualTo(3));
        Assert.That(Cell(none, "table1", "ENet", "gflops").Status, Is.EqualTo(CellStatus.Improved));

        // A pattern with '?' matches one character: table1 only, not table1-mri.
        var exact = TableDiff.Compare(a, b, new TableDiffOptions { InformationalPatterns = ["tabl?1"] });
        Assert.That(exact.Tables.Where(t => t.Informational).Select(t => t.Name), Is.EqualTo(new[] { "table1" }));
    }

    [Test]
    public void TablesRowsAndColumnsOnOneSide_AreReported_AndLostValuesRegress()
    {
        var a = Set(("table2", "model,S1,S2\nENet,0.8000,0.7000\nERFNet,0.7500,n/r\n"),
                    ("table3", "model,S1\nENet,0.6000\n"),
                    ("table5", "model,S1\nENet,n/r\n"));
        var b = Set(("table2", "model,S1,S3\nENet,0.8000,0.9000\nUNet,0.5000,\n"),
                    ("table4", "model,S1\nENet,0.9000\n"));

        var r = TableDiff.Compare(a, b);
        var t2 = r.Tables.Single(t => t.Name == "table2");
        var t3 = r.Tables.Single(t => t.Name == "table3");
        var t4 = r.Tables.Single(t => t.Name == "table4");
        var t5 = r.Tables.Single(t => t.Name == "table5");
        Assert.Multiple(() =>
        {
            Assert.That(r.Tables.Select(t => t.Name), Is.EqualTo(new[] { "table2", "table3", "table4", "table5" }));
            Assert.That(t2.RowsOnlyInA, Is.EqualTo(new[] { "ERFNet" }));
            Assert.That(t2.RowsOnlyInB, Is.EqualTo(new[] { "UNet" }));
            Assert.That(t2.ColumnsOnlyInA, Is.EqualTo(new[] { "S2" }));
            Assert.That(t2.ColumnsOnlyInB, Is.EqualTo(new[] { "S3" }));
            // Union: rows ENet, ERFNet, UNet × columns S1, S2, S3.
            Assert.That(t2.Cells, Has.Count.EqualTo(9));
            Assert.That(Cell(r, "table2", "ENet", "S2").Status, Is.EqualTo(CellStatus.Removed));
            Assert.That(Cell(r, "table2", "ENet", "S3").Status, Is.EqualTo(CellStatus.Added));
            Assert.That(Cell(r, "table2", "ERFNet", "S1").Status, Is.EqualTo(CellStatus.Removed));
            Assert.That(Cell(r, "table2", "ERFNet", "S2").Status, Is.EqualTo(CellStatus.TextChanged));
            Assert.That(Cell(r, "table2", "UNet", "S1").Status, Is.EqualTo(CellStatus.Added));
            Assert.That(Cell(r, "table2", "UNet", "S3").Status, Is.EqualTo(CellStatus.Same));
            Assert.That(t2.Regressions, Is.EqualTo(2));

            Assert.That((t3.InA, t3.InB), Is.EqualTo((true, false)));
            Assert.That(t3.Cells.Single().Status, Is.EqualTo(CellStatus.Removed));
            Assert.That(t3.Regressions, Is.EqualTo(1));
            Assert.That((t4.InA, t4.InB), Is.EqualTo((false, true)));
            Assert.That(t4.Cells.Single().Status, Is.EqualTo(CellStatus.Added));
            Assert.That(t4.Regressions, Is.Zero);
            // A lost table without numbers loses no value: reported, not a regression.
            Assert.That((t5.InA, t5.InB, t5.Regressions), Is.EqualTo((true, false, 0)));
            Assert.That(t5.Cells.Single().Status, Is.EqualTo(CellStatus.TextChanged));

            Assert.That(r.Regressions, Is.EqualTo(3));
        });
    }

    [Test]
    public void TablesOption_RestrictsTheComparison_AndRejectsUnknownNames()
    {
        var a = Set(("table2", "model,S1\nENet,0.8000\n"), ("table3", "model,S1\nENet,0.8000\n"));
        var b = Set(("table2", "model,S1\nENet,0.8000\n"), ("table3", "model,S1\nENet,0.1000\n"));

        var onlyT2 = TableDiff.Compare(a, b, new TableDiffOptions { Tables = ["table2"] });
        Assert.That(onlyT2.Tables.Select(t => t.Name), Is.EqualTo(new[] { "table2" }));
        Assert.That(onlyT2.HasRegressions, Is.False);
        Assert.That(TableDiff.Compare(a, b).HasRegressions, Is.True);

        var e = Assert.Throws<ArgumentException>(() => TableDiff.Compare(a, b, new TableDiffOptions { Tables = ["table2", "table9"] }));
        Assert.That(e!.Message, Does.Contain("'table9'").And.Contain("table3"));
    }

    [TestCase(-0.01)]
    [TestCase(double.NaN)]
    [TestCase(double.PositiveInfinity)]
    public void BadTolerance_IsRejected(double tolerance)
    {
        var s = Set(("t", "model,S1\nm,0.5\n"));
        Assert.Throws<ArgumentException>(() => TableDiff.Compare(s, s, new TableDiffOptions { Tolerance = tolerance }));
    }

    [Test]
    public void Reports_MarkdownListsChangedCellsAndSummary_CsvIsLongFormat()
    {
        var a = Set(("table2", "model,S1,S2\nENet,0.8000,0.8000\n\"A|B, x\",0.5000,\n"));
        var b = Set(("table2", "model,S1,S2\nENet,0.7000,0.8000\n\"A|B, x\",0.5050,n/r\n"));
        var r = TableDiff.Compare(a, b);

        var md = TableDiffReport.ToMarkdown(r, "folder old", "folder new");
        Assert.Multiple(() =>
        {
            Assert.That(md, Does.Contain("- A: folder old\n- B: folder new\n"));
            Assert.That(md, Does.Contain("| ENet | S1 | 0.8000 | 0.7000 | -0.1000 | **REGRESSED** |\n"));
            Assert.That(md, Does.Contain("| A\\|B, x | S1 | 0.5000 | 0.5050 | +0.0050 | changed |\n"));
            Assert.That(md, Does.Contain("| A\\|B, x | S2 |  | n/r |  | text-changed |\n"));
            Assert.That(md, Does.Not.Contain("| ENet | S2 |"), "unchanged cells are listed only with allCells");
            Assert.That(md, Does.EndWith("**4 cells compared, 3 changed, 1 regressions**\n"));
        });
        Assert.That(TableDiffReport.ToMarkdown(r, "a", "b", allCells: true), Does.Contain("| ENet | S2 | 0.8000 | 0.8000 | 0.0000 | same |\n"));

        Assert.That(TableDiffReport.ToCsv(r), Is.EqualTo(
            "table,row,column,a,b,delta,status,regression\n" +
            "table2,ENet,S1,0.8000,0.7000,-0.1000,regressed,1\n" +
            "table2,\"A|B, x\",S1,0.5000,0.5050,+0.0050,changed,0\n" +
            "table2,\"A|B, x\",S2,,n/r,,text-changed,0\n"));
        Assert.That(TableDiffReport.ToCsv(r, allCells: true).Split('\n', StringSplitOptions.RemoveEmptyEntries), Has.Length.EqualTo(5));
        Assert.That(TableDiffReport.SummaryLine(r), Is.EqualTo("4 cells compared, 3 changed, 1 regressions"));
    }

    [Test]
    public void FolderSource_ReadsTableCsvs_NotCompareFilesNotesOrSubfolders()
    {
        var dir = Directory.CreateTempSubdirectory("md-tablediff-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "table2.csv"), "model,S1\nENet,0.8\n");
            File.WriteAllText(Path.Combine(dir, "table2.compare.csv"), "row,column,published,reproduced,delta\nENet,S1,0.8,0.8,0\n");
            File.WriteAllText(Path.Combine(dir, "table2.notes.md"), "# notes\n");
            Directory.CreateDirectory(Path.Combine(dir, "sub"));
            File.WriteAllText(Path.Combine(dir, "sub", "table9.csv"), "model,S1\nENet,0.8\n");

            var set = TableSources.FromFolder(dir);
            Assert.That(set.Tables.Keys, Is.EqualTo(new[] { "table2" }));
            Assert.That(set.Tables["table2"].Value("ENet", "S1"), Is.EqualTo(0.8));
            Assert.Throws<ArgumentException>(() => TableSources.FromFolder(Path.Combine(dir, "missing")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [TestCase("HEAD~1", "HEAD~1", null)]
    [TestCase("HEAD~1:paper-tables/affinity-kd", "HEAD~1", "paper-tables/affinity-kd")]
    [TestCase("v1.0:", "v1.0", "")]
    [TestCase("HEAD^{/fix: tables}:out", "HEAD^{/fix: tables}", "out")]
    [TestCase(":/message", ":/message", null)]
    public void RevisionArgument_SplitsAtTheFirstColonOutsideBraces(string argument, string revision, string? path) =>
        Assert.That(TableSources.SplitRevisionPath(argument), Is.EqualTo((revision, path)));

    [TestCase("paper-tables/affinity-kd/", "paper-tables/affinity-kd")]
    [TestCase("./paper-tables\\affinity-kd", "paper-tables/affinity-kd")]
    [TestCase(".", "")]
    public void RepositoryPaths_AreNormalisedToGitsForm(string path, string expected) =>
        Assert.That(TableSources.NormalizeRepoPath(path), Is.EqualTo(expected));

    [TestCase("/etc")]
    [TestCase("paper-tables/../..")]
    public void RepositoryPaths_OutsideTheRepository_AreRejected(string path) =>
        Assert.Throws<ArgumentException>(() => TableSources.NormalizeRepoPath(path));

    [TestCase("table2.csv", true)]
    [TestCase("TABLE2.CSV", true)]
    [TestCase("table2.compare.csv", false)]
    [TestCase("table2.notes.md", false)]
    [TestCase("table2.seeds.csv", false)]
    [TestCase("claims.csv", false)]
    public void TableFiles_AreCsvsButNotCompareFiles(string name, bool isTable) =>
        Assert.That(TableSources.IsTableFile(name), Is.EqualTo(isTable));
}
