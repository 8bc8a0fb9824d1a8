using System.CommandLine;
using MedDistill.Experiments.Papers;
using System.Globalization;
using MedDistill.Experiments.Runs;
using MedDistill.Experiments.Tables;

namespace MedDistill.Cli.Commands;

/// <summary>
/// <c>meddistill diff A B</c>: compares two sets of result tables cell by cell. A and B are folders, git revisions
/// (<c>HEAD~1</c>, <c>v1.0:paper-tables/affinity-kd</c>) or <c>WORKTREE</c>. Exit 0 without regressions, 1 with,
/// 2 when the comparison cannot be made (bad options, unknown revision, missing folder, unreadable table), so a
/// nightly job can run <c>meddistill diff last-good/ paper-tables/affinity-kd/nightly || alert</c>.
/// </summary>
public static class DiffCommand
{
    public const int ExitRegression = 1;

    public static Command Create()
    {
        var defaults = new TableDiffOptions();
        var a = new Argument<string>("A") { Description = "Reference side: a folder of table CSVs, a git revision (REV or REV:path), or WORKTREE" };
        var b = new Argument<string>("B") { Description = "Side compared against A, same forms as A" };
        var path = new Option<string?>("--path")
        {
            Description = "Folder inside the repository read for revisions and WORKTREE (REV:path overrides it; default: the paper's default profile folder, paper-tables/<paper>/<profile>)",
        };
        var paper = PipelineCommand.PaperOption();
        var tolerance = new Option<double>("--tolerance")
        {
            Description = "Largest drop (B − A, in the tables' units, e.g. Dice) that is not a regression",
            DefaultValueFactory = _ => defaults.Tolerance,
        };
        var format = new Option<string>("--format") { Description = "Report format", DefaultValueFactory = _ => "markdown" };
        format.AcceptOnlyFromAmong("markdown", "csv");
        var output = new Option<string?>("--out") { Description = "Write the report to this file (the summary line still goes to stdout)" };
        var tables = new Option<string[]>("--tables") { Description = "Compare only these tables, comma-separated or repeated (e.g. table2,table3)" };
        var informational = new Option<string[]>("--informational")
        {
            Description = "Table-name patterns (* and ?) whose changes never count as regressions, comma-separated or repeated",
            DefaultValueFactory = _ => defaults.InformationalPatterns.ToArray(),
        };
        var all = new Option<bool>("--all") { Description = "List every cell, not only those that differ" };
        var repo = new Option<string?>("--repo") { Description = "A folder inside the git repository to read revisions from (default: the current directory)" };

        var command = new Command("diff",
            "Compare result tables cell by cell (folders or git revisions); exit 1 when a value drops by more than the tolerance or disappears")
        {
            a, b, path, paper, tolerance, format, output, tables, informational, all, repo,
        };
        command.SetAction(parse =>
        {
            try
            {
                var options = new TableDiffOptions
                {
                    Tolerance = parse.GetValue(tolerance),
                    InformationalPatterns = SplitList(parse.GetValue(informational)) ?? [],
                    Tables = SplitList(parse.GetValue(tables)) is { Count: > 0 } names
                        ? names.Select(t => t.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) ? t[..^4] : t).ToList()
                        : null,
                };
                string treePath = (parse.GetValue(path) ?? DefaultPath(parse.GetValue(paper)!));
                // The repository is looked up once and only when a side is not a folder, so folder diffs work anywhere.
                string? root = null;
                string RepositoryRoot() => root ??= TableSources.FindRepositoryRoot(parse.GetValue(repo) ?? Directory.GetCurrentDirectory());
                var setA = TableSources.Resolve(parse.GetValue(a)!, treePath, RepositoryRoot);
                var setB = TableSources.Resolve(parse.GetValue(b)!, treePath, RepositoryRoot);

                var result = TableDiff.Compare(setA.Tables, setB.Tables, options);
                bool allCells = parse.GetValue(all);
                string report = parse.GetValue(format) == "csv"
                    ? TableDiffReport.ToCsv(result, allCells)
                    : TableDiffReport.ToMarkdown(result, setA.Description, setB.Description, allCells);

                if (parse.GetValue(output) is { } file)
                {
                    AtomicFile.WriteAllText(file, report);
                    Console.WriteLine(TableDiffReport.SummaryLine(result));
                }
                else
                {
                    Console.Write(report);
                }

                if (result.Tables.Count == 0)
                    Console.Error.WriteLine($"meddistill diff: no tables in {setA.Description} nor in {setB.Description}");
                if (!result.HasRegressions) return CliHost.ExitOk;
                // Loud on stderr too, so a nightly log shows the failure even when the report went to a file.
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"meddistill diff: {result.Regressions} regressions (drop beyond {options.Tolerance} or value lost) from {setA.Description} to {setB.Description}"));
                return ExitRegression;
            }
            // Exit 1 means "regression", so every reason the comparison could not be made is 2, unlike CliHost.Guard.
            catch (ArgumentException e)
            {
                Console.Error.WriteLine($"meddistill diff: {CliHost.Describe(e)}");
                return CliHost.ExitSetup;
            }
            catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"meddistill diff: {e.Message}");
                return CliHost.ExitSetup;
            }
        });
        return command;
    }

    /// <summary>Comma-separated and repeated values as one list; null when none were given.</summary>
    private static List<string>? SplitList(string[]? values)
    {
        if (values is null || values.Length == 0) return null;
        return values.SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();
    }

    /// <summary>A paper's committed tables of its default profile (the built-in data's): what a diff of two commits compares.</summary>
    private static string DefaultPath(string paperId)
    {
        var paper = PaperRegistry.Get(paperId);
        return $"{paper.TablesFolder}/{paper.Profiles[0].Name}";
    }
}
