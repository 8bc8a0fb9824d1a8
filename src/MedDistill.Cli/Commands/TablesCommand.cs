using System.CommandLine;
using System.Globalization;
using MedDistill.Experiments.Papers;
using MedDistill.Experiments.Runs;
using MedDistill.Models;
using MedDistill.Models.Profiling;
using MedDistill.Torch;

namespace MedDistill.Cli.Commands;

/// <summary>
/// <c>meddistill tables &lt;paper&gt; &lt;table&gt;</c>: regenerates a paper's table from the harness. Today:
/// <c>tables affinity-kd table1</c> (parameters and FLOPs of the five networks).
/// </summary>
public static class TablesCommand
{
    public const string DefaultAffinityKdFolder = "paper-tables/affinity-kd";

    public static Command Create()
    {
        var command = new Command("tables", "Regenerate the papers' tables");
        var affinity = new Command("affinity-kd", "Tables of the Affinity-KD paper (adaptive affinity-based generalization, prostate MRI)");
        affinity.Subcommands.Add(CreateAffinityTable1());
        foreach (var table in AffinityKdExperiment.Tables.Append("all")) affinity.Subcommands.Add(CreateAffinityRunTable(table));
        affinity.Subcommands.Add(CreateAffinitySensitivity());
        command.Subcommands.Add(affinity);
        return command;
    }

    private static Command CreateAffinityTable1()
    {
        var output = new Option<string>("--out") { Description = "Folder for table1.csv, table1-mri.csv and table1.notes.md", DefaultValueFactory = _ => DefaultAffinityKdFolder };
        var command = new Command("table1",
            "Parameters and FLOPs of ESPNet, ENet, ERFNet, UNet++ and DeepLabV3+ at 384×384, in the paper's convention and as true MACs; " +
            "exits 1 when a row misses the published figures")
        {
            output,
        };
        command.SetAction(parse =>
        {
            string folder = parse.GetValue(output)!;
            if (string.IsNullOrWhiteSpace(folder))
            {
                Console.Error.WriteLine("meddistill tables affinity-kd table1: --out must name a folder");
                return CliHost.ExitSetup;
            }
            if (File.Exists(folder))
            {
                Console.Error.WriteLine($"meddistill tables affinity-kd table1: --out {folder} is a file, not a folder");
                return CliHost.ExitSetup;
            }

            var result = AffinityKdTable1.Compute(m => Console.Error.WriteLine($"counting {m}"));
            var files = AffinityKdTable1.Write(result, folder, torch.__version__);

            Console.WriteLine($"{"method",-12}{"in",4}{"classes",9}{"params",14}{"params_m",10}{"paper",8}{"GFLOPs",11}{"paper",9}{"GMACs true",12}");
            foreach (var r in result.Paper)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{r.Entry.Method,-12}{r.Options.InChannels,4}{r.Options.Classes,9}{r.Cost.Parameters,14:N0}{r.ParamsM,10}{r.Entry.Published.ParamsM,8}{r.Cost.GflopsPaperConvention,11:F3}{r.Entry.Published.Gflops,9}{r.Cost.GmacsTrue,12:F3}"));
            foreach (var f in files) Console.WriteLine($"wrote {f}");

            var problems = AffinityKdTable1.Mismatches(result.Paper);
            if (problems.Count == 0)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"Table 1 reproduced: params as printed, FLOPs within {AffinityKdTable1.GflopsTolerance:P1}"));
                return CliHost.ExitOk;
            }
            foreach (var p in problems) Console.Error.WriteLine($"mismatch: {p}");
            return CliHost.ExitFailure;
        });
        return command;
    }

    private static Command CreateAffinitySensitivity()
    {
        var profile = new Option<string>("--profile") { Description = "phantom, smoke, paper or nightly", DefaultValueFactory = _ => "phantom" };
        var output = new Option<string?>("--out") { Description = "Folder (default paper-tables/affinity-kd/<profile>)" };
        var runsDir = new Option<string?>("--runs-dir") { Description = $"Runs folder (default: ${RunStore.EnvironmentVariable}, else runs/ at the repository root)" };
        var full = new Option<bool>("--full") { Description = "Every variant of the study, not only the default ones" };
        var command = new Command(AffinityKdSensitivity.Table,
            "The sensitivity study from its finished runs: sensitivity.csv (Dice per target of each variant of each open choice, against the as-written configuration and ENet w/o), sensitivity.notes.md, figures/sensitivity.svg and figures/sensitivity-<choice>.svg per choice")
        {
            profile, output, runsDir, full,
        };
        command.SetAction(parse => CliHost.Guard(() =>
        {
            var p = AffinityKdExperiment.Profile(parse.GetValue(profile)!);
            var repo = RunCommands.RepositoryRoot();
            var store = new RunStore(RunStore.Resolve(parse.GetValue(runsDir), repo));
            var folder = Path.GetFullPath(parse.GetValue(output) ?? Path.Combine(repo, DefaultAffinityKdFolder, p.Name));
            var plan = AffinityKdSensitivity.Plan(p, PipelineCommand.RecipeOf(p).Hash(), ModelRegistry.Names, parse.GetValue(full));
            var (files, missing) = AffinityKdSensitivityTables.Write(p, plan, store, parse.GetValue(full), folder);
            foreach (var f in files) Console.WriteLine($"wrote {f}");
            if (missing > 0) Console.Error.WriteLine($"sensitivity: {missing} cells have no finished run (./build.sh --profile {p.Name} --target sensitivity)");
            return missing == 0 ? CliHost.ExitOk : CliHost.ExitFailure;
        }));
        return command;
    }

    private static Command CreateAffinityRunTable(string table)
    {
        var profile = new Option<string>("--profile") { Description = "phantom, smoke, paper or nightly", DefaultValueFactory = _ => "phantom" };
        var output = new Option<string?>("--out") { Description = "Folder for the tables (default paper-tables/affinity-kd/<profile>)" };
        var runsDir = new Option<string?>("--runs-dir") { Description = $"Runs folder (default: ${RunStore.EnvironmentVariable}, else runs/ at the repository root)" };
        var published = new Option<string?>("--published") { Description = "Folder of the published values (default paper-tables/affinity-kd/published)" };
        var dataDir = DataCommand.DataDirOption();
        var (seeds, seedRows) = PipelineCommand.SeedOptions();
        var tables = table == "all" ? AffinityKdExperiment.Tables : [table];
        var command = new Command(table, table == "all"
            ? "Tables 2-4 of a profile from its finished runs: <table>.csv, <table>.compare.csv (published, reproduced, delta), <table>.notes.md"
            : $"{table} of a profile from its finished runs (with .compare.csv and .notes.md)")
        {
            profile, output, runsDir, published, dataDir, seeds, seedRows,
        };
        command.SetAction(parse => CliHost.Guard(() =>
        {
            var p = AffinityKdExperiment.Profile(parse.GetValue(profile)!);
            var repo = RunCommands.RepositoryRoot();
            var store = new RunStore(RunStore.Resolve(parse.GetValue(runsDir), repo));
            var folder = Path.GetFullPath(parse.GetValue(output) ?? Path.Combine(repo, DefaultAffinityKdFolder, p.Name));
            var publishedDir = parse.GetValue(published) ?? Path.Combine(repo, DefaultAffinityKdFolder, "published");
            var plan = AffinityKdExperiment.Plan(p, PipelineCommand.RecipeOf(p).Hash(), ModelRegistry.Names, tables);
            var built = AffinityKdTables.Build(p, plan, store, publishedDir, tables);
            int missing = 0;
            foreach (var t in built)
            {
                foreach (var f in AffinityKdTables.Write(t, folder)) Console.WriteLine($"wrote {f}");
                missing += t.MissingCells;
                if (t.MissingCells > 0) Console.Error.WriteLine($"{t.Name}: {t.MissingCells} cells have no finished run (see meddistill pipeline plan --profile {p.Name} --dry-run)");
            }
            var seedTables = AffinityKdSeeds.Build(AffinityKdSeeds.Plan(plan, parse.GetValue(seeds), parse.GetValue(seedRows)!), p, built, store);
            foreach (var s in seedTables)
            {
                Console.WriteLine($"wrote {AffinityKdSeeds.Write(s, folder)}");
                missing += s.MissingRuns;
                if (s.MissingRuns > 0) Console.Error.WriteLine($"{s.Name}: {s.MissingRuns} seed runs have not finished");
            }
            // Table 1 counts the networks themselves: the same for every profile, so the profile folder gets the committed one.
            foreach (var name in new[] { "table1.csv", "table1-mri.csv", "table1.notes.md" })
            {
                var source = Path.Combine(repo, DefaultAffinityKdFolder, name);
                if (File.Exists(source)) File.Copy(source, Path.Combine(folder, name), overwrite: true);
            }
            Console.WriteLine($"wrote {AffinityKdRuns.Write(plan, store, folder)}");
            Console.WriteLine($"wrote {AffinityKdDomainShift.Write(AffinityKdDomainShift.Rows(plan, store), folder)}");
            if (table == "all")
                foreach (var f in AffinityKdReport.Write(p, plan, built, store, DataCommand.ResolveDataDir(parse.GetValue(dataDir)), folder, Device.CPU, seedTables))
                    Console.WriteLine($"wrote {f}");
            return missing == 0 ? CliHost.ExitOk : CliHost.ExitFailure;
        }));
        return command;
    }
}
