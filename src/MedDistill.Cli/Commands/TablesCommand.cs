using System.CommandLine;
using MedDistill.Experiments.Papers;
using MedDistill.Experiments.Runs;
using MedDistill.Models;

namespace MedDistill.Cli.Commands;

/// <summary>
/// <c>meddistill tables &lt;paper&gt; &lt;table&gt;</c>: regenerates a paper's tables from the harness, one subcommand per
/// paper of <see cref="PaperRegistry"/> and per table it declares (static tables, run tables, <c>all</c>, studies). What a
/// table is and how it is written is the paper's business (<see cref="IPaper.WriteTables"/>); this file only parses.
/// </summary>
public static class TablesCommand
{
    public static Command Create()
    {
        var command = new Command("tables", "Regenerate the papers' tables");
        foreach (var paper in PaperRegistry.All)
        {
            var group = new Command(paper.Id, $"Tables of {paper.Title}");
            foreach (var table in paper.StaticTables)
                group.Subcommands.Add(Table(paper, table, $"{table}: computed without runs; written to {paper.TablesFolder}/ (exit 1 when it misses the published figures)"));
            foreach (var table in paper.RunTables)
                group.Subcommands.Add(Table(paper, table, $"{table} of a profile from its finished runs (with .compare.csv and .notes.md)"));
            group.Subcommands.Add(Table(paper, "all",
                $"Every run table of a profile ({string.Join(", ", paper.RunTables)}) from its finished runs: <table>.csv, .compare.csv, .notes.md, runs, domain shift, report.md"));
            foreach (var study in paper.Studies)
                group.Subcommands.Add(Table(paper, study, $"The {study} study from its finished runs (its CSV, notes and charts)"));
            command.Subcommands.Add(group);
        }
        return command;
    }

    private static Command Table(IPaper paper, string table, string description)
    {
        bool isStatic = paper.StaticTables.Contains(table);
        var profile = new Option<string>("--profile") { Description = string.Join(", ", paper.Profiles.Select(p => p.Name)), DefaultValueFactory = _ => paper.Profiles[0].Name };
        var output = new Option<string?>("--out") { Description = isStatic ? $"Folder (default {paper.TablesFolder})" : $"Folder (default {paper.TablesFolder}/<profile>)" };
        var runsDir = new Option<string?>("--runs-dir") { Description = $"Runs folder (default: ${RunStore.EnvironmentVariable}, else runs/ at the repository root)" };
        var published = new Option<string?>("--published") { Description = $"Folder of the published values (default {paper.PublishedFolder})" };
        var full = new Option<bool>("--full") { Description = "Studies: every variant, not only the default ones" };
        var dataDir = DataCommand.DataDirOption();
        var (seeds, seedRows) = PipelineCommand.SeedOptions();
        var command = new Command(table, description) { output };
        if (!isStatic)
            foreach (var o in new Option[] { profile, runsDir, published, dataDir, seeds, seedRows, full }) command.Options.Add(o);
        command.SetAction(parse => CliHost.Guard(() =>
        {
            var outFolder = parse.GetValue(output);
            if (outFolder is not null && string.IsNullOrWhiteSpace(outFolder)) throw new ArgumentException($"tables {paper.Id} {table}: --out must name a folder");
            var repo = RunCommands.RepositoryRoot();
            var p = isStatic ? paper.Profiles[0] : paper.Profile(parse.GetValue(profile)!);
            var request = new TablesRequest(p, table, new RunStore(RunStore.Resolve(isStatic ? null : parse.GetValue(runsDir), repo)), repo,
                DataCommand.ResolveDataDir(isStatic ? null : parse.GetValue(dataDir)))
            {
                OutputFolder = outFolder is null ? null : Path.GetFullPath(outFolder),
                Zoo = ModelRegistry.Names,
                PublishedFolder = isStatic ? null : parse.GetValue(published),
                Full = !isStatic && parse.GetValue(full),
                Seeds = isStatic ? 1 : parse.GetValue(seeds),
                SeedRows = isStatic ? null : parse.GetValue(seedRows),
                Log = Console.WriteLine,
            };
            var result = paper.WriteTables(request);
            foreach (var f in result.Files) Console.WriteLine($"wrote {f}");
            foreach (var problem in result.Problems) Console.Error.WriteLine(problem);
            return result.Missing == 0 && result.Problems.Count == 0 ? CliHost.ExitOk : CliHost.ExitFailure;
        }));
        return command;
    }
}
