using System.CommandLine;
using System.Text.Json;
using MedDistill.Data.Phantom;
using MedDistill.Data.Preprocessing;

namespace MedDistill.Cli.Commands;

/// <summary>
/// <c>meddistill data preprocess &lt;dataset&gt;</c>: turns a data set (prostate layout, FLARE22 NIfTI, TransUNet's
/// Synapse, CHASE_DB1/STARE/DRIVE fundus photographs or CHAOS/LiTS liver CT; the layout is recognised from the folder) into the slice cache the loader reads. Idempotent: an unchanged recipe and unchanged sources write
/// nothing. A subcommand of <c>data</c>.
/// </summary>
public static class PreprocessCommand
{
    /// <summary>Data sets with a preprocessing recipe, and the recipe each uses by default.</summary>
    private static IReadOnlyDictionary<string, PreprocessRecipe> Recipes => PreprocessRecipe.ByDataset;

    public static Command Create()
    {
        var dataset = new Argument<string>("dataset") { Description = $"One of: {string.Join(", ", Recipes.Keys)}" };
        var dataDir = DataCommand.DataDirOption();
        var source = new Option<string?>("--source")
        {
            Description = "Data set folder: <SITE>/CaseNN.nii(.gz) folders, FLARE imagesTr/labelsTr, Synapse train_npz/test_vol_h5, " +
                          "CHASE_DB1/STARE/DRIVE, CHAOS/LiTS, or M2caiSeg's train/test folders (default: <data-dir>/<dataset>)",
        };
        var cache = new Option<string?>("--cache") { Description = "Cache folder (default: <data-dir>/cache/<dataset>)" };
        var size = new Option<int?>("--size") { Description = "In-plane size H = W of the cached slices (default: the recipe's: 96 phantom-prostate and phantom-fundus, 384 prostate, 64 abdomen/flare/liver/laparoscopy phantoms, 256 retinal-vessels, liver and m2caiseg)" };
        var alwaysHash = new Option<bool>("--always-hash") { Description = "Hash every source file even when size and time are unchanged" };
        var json = new Option<bool>("--json") { Description = "Print the report as one JSON object" };
        var command = new Command("preprocess", "Build (or bring up to date) the preprocessed slice cache of a data set")
        {
            dataset, dataDir, source, cache, size, alwaysHash, json,
        };
        command.SetAction(parse =>
        {
            var name = parse.GetValue(dataset)!;
            if (!Recipes.TryGetValue(name, out var recipe))
            {
                Console.Error.WriteLine($"meddistill: no preprocessing recipe for '{name}'; known: {string.Join(", ", Recipes.Keys)}");
                return CliHost.ExitSetup;
            }
            if (parse.GetValue(size) is int s) recipe = recipe with { Height = s, Width = s };
            var root = DataCommand.ResolveDataDir(parse.GetValue(dataDir));
            return CliHost.Guard(() =>
            {
                var cacheDir = parse.GetValue(cache) ?? Path.Combine(root, "cache", name);
                var discovered = DatasetLayouts.Discover(parse.GetValue(source) ?? Path.Combine(root, name), name);
                bool asJson = parse.GetValue(json);
                var progress = asJson ? null : new LineProgress();
                var report = Preprocessor.Run(discovered, recipe, cacheDir, progress,
                    new PreprocessRunOptions { AlwaysHash = parse.GetValue(alwaysHash) });
                if (asJson)
                    Console.WriteLine(JsonSerializer.Serialize(new
                    {
                        dataset = name, source = discovered.Root, cache = report.CacheDir, recipeHash = report.RecipeHash,
                        cases = discovered.Cases.Count, built = report.Built, reused = report.Reused, removed = report.Removed,
                    }));
                else
                    Console.WriteLine(report.Built == 0 && report.Removed == 0
                        ? $"{report.CacheDir} is up to date ({report.Reused} cases, recipe {report.RecipeHash[..12]})"
                        : $"{report.CacheDir}: built {report.Built}, reused {report.Reused}, removed {report.Removed} (recipe {report.RecipeHash[..12]})");
                return CliHost.ExitOk;
            });
        });
        return command;
    }


    /// <summary>One line per rebuilt case on stderr (seconds per case on real data, so lines read fine in logs too); reused cases stay quiet.</summary>
    internal sealed class LineProgress : IProgress<PreprocessProgress>
    {
        private readonly Lock gate = new();

        public void Report(PreprocessProgress value)
        {
            if (!value.Rebuilt) return;
            lock (gate) Console.Error.WriteLine($"preprocess: {value.Done}/{value.Total} {value.CaseId} built");
        }
    }
}
