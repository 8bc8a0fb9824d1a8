using System.CommandLine;
using System.Globalization;
using MedDistill.Data.Archives;
using MedDistill.Data.Fetch;
using MedDistill.Data.Manifest;

namespace MedDistill.Cli.Commands;

/// <summary>
/// <c>meddistill data</c>: the dataset files of <c>data-manifest.csv</c>. Subcommands fetch (download what is open, explain the
/// rest), import (file a hand-downloaded file after verifying it), status (one line per dataset) and extract (safe, idempotent
/// unpacking). Other data subcommands (the phantom generator) are passed to <see cref="Create"/> and can reuse
/// <see cref="DataDirOption"/> and <see cref="ResolveDataDir"/>.
/// </summary>
public static class DataCommand
{
    public static Command Create(params Command[] extra)
    {
        var command = new Command("data", "Dataset files: fetch, import, status, extract");
        command.Subcommands.Add(FetchCommand());
        command.Subcommands.Add(ImportCommand());
        command.Subcommands.Add(StatusCommand());
        command.Subcommands.Add(ExtractCommand());
        foreach (var sub in extra) command.Subcommands.Add(sub);
        return command;
    }

    /// <summary>A fresh <c>--data-dir</c> option (an option instance belongs to one command).</summary>
    public static Option<string?> DataDirOption() => new("--data-dir")
    {
        Description = $"Data directory (default: ${DataDirectory.EnvironmentVariable}, else data/ at the repository root)",
    };

    public static Option<string?> ManifestOption() => new("--manifest")
    {
        Description = $"Manifest to use (default: {DataManifest.FileName} at the repository root)",
    };

    /// <summary>The data directory for a parsed <c>--data-dir</c> value (see <see cref="DataDirectory.Resolve"/>).</summary>
    public static string ResolveDataDir(string? dataDirOption, string? manifestOption = null)
    {
        string manifestPath;
        try { manifestPath = manifestOption ?? DataManifest.FindDefaultPath(); }
        catch (FileNotFoundException) { manifestPath = Path.Combine(Directory.GetCurrentDirectory(), DataManifest.FileName); }
        return DataDirectory.Resolve(dataDirOption, manifestPath);
    }

    private static Option<string?> PartOption() => new("--part") { Description = "Only this part of the dataset (see data-manifest.csv)" };

    private static Command FetchCommand()
    {
        var dataset = new Argument<string>("dataset") { Description = "Dataset name from data-manifest.csv" };
        var part = PartOption();
        var dataDir = DataDirOption();
        var manifest = ManifestOption();
        var retries = new Option<int>("--retries") { Description = "Tries per file", DefaultValueFactory = _ => new FetchOptions().MaxAttempts };
        var timeout = new Option<double>("--timeout")
        {
            Description = "Seconds of silence from the server before a try fails (connect and read)",
            DefaultValueFactory = _ => new FetchOptions().ReadTimeout.TotalSeconds,
        };
        var command = new Command("fetch", "Download a dataset's open files (resumable, verified); print how to get the others")
            { dataset, part, dataDir, manifest, retries, timeout };
        command.SetAction(async (parse, cancel) => await Guarded(async () =>
        {
            var (m, dir) = Open(parse.GetValue(manifest), parse.GetValue(dataDir));
            var rows = m.Select(parse.GetValue(dataset)!, parse.GetValue(part));
            var seconds = TimeSpan.FromSeconds(parse.GetValue(timeout));
            var options = new FetchOptions { MaxAttempts = Math.Max(1, parse.GetValue(retries)), ReadTimeout = seconds, ConnectTimeout = seconds };
            IDownloadProgress progress = Console.IsOutputRedirected ? new LogLineProgress(Console.Out) : new TerminalProgressBar(Console.Out);
            using var downloader = new Downloader(options, progress: progress, log: Console.Error);
            var fetcher = new DataFetcher(dir, downloader, Console.Out);
            var outcomes = await fetcher.FetchAsync(rows, cancel);
            int failed = 0, manual = 0;
            foreach (var o in outcomes)
            {
                switch (o.Kind)
                {
                    case FetchOutcomeKind.Downloaded:
                        Console.WriteLine($"{o.Entry.Dataset}/{o.Entry.File}: downloaded, {o.Download!.Bytes} bytes, {o.Download.Checksum} verified{(o.NewPin is null ? "" : " (pinned)")}");
                        break;
                    case FetchOutcomeKind.AlreadyPresent:
                        Console.WriteLine($"{o.Entry.Dataset}/{o.Entry.File}: already present and verified ({o.Download!.Checksum})");
                        break;
                    case FetchOutcomeKind.Manual:
                        manual++;
                        Console.WriteLine(o.Instructions);
                        break;
                    case FetchOutcomeKind.Failed:
                        failed++;
                        Console.Error.WriteLine($"meddistill: {o.Entry.Dataset}/{o.Entry.File}: {o.Error}");
                        break;
                }
            }
            Console.WriteLine($"data directory: {dir}");
            return failed > 0 ? CliHost.ExitFailure : CliHost.ExitOk;
        }));
        return command;
    }

    private static Command ImportCommand()
    {
        var dataset = new Argument<string>("dataset") { Description = "Dataset name from data-manifest.csv" };
        var paths = new Argument<string[]>("path") { Description = "The downloaded file (or the parts / folder of parts of a split archive)", Arity = ArgumentArity.OneOrMore };
        var part = PartOption();
        var move = new Option<bool>("--move") { Description = "Move the file into the data directory instead of copying it (after it verifies)" };
        var dataDir = DataDirOption();
        var manifest = ManifestOption();
        var command = new Command("import", "Verify a file downloaded by hand (checksum, else pin its sha256) and file it in the data directory")
            { dataset, paths, part, move, dataDir, manifest };
        command.SetAction(parse => Guarded(() =>
        {
            var (m, dir) = Open(parse.GetValue(manifest), parse.GetValue(dataDir));
            var rows = m.Select(parse.GetValue(dataset)!, parse.GetValue(part));
            using var downloader = new Downloader();
            var fetcher = new DataFetcher(dir, downloader, Console.Out);
            var result = fetcher.Import(rows, parse.GetValue(paths)!, parse.GetValue(move));
            Console.WriteLine($"{result.Entry.Dataset}/{result.Entry.File}: imported to {result.Path}, {result.Bytes} bytes, " +
                              $"{result.Checksum} {(result.NewPin is null ? "verified" : "pinned")}" +
                              (result.Sources.Count > 1 ? $" (concatenated from {result.Sources.Count} parts)" : ""));
            return Task.FromResult(CliHost.ExitOk);
        }).GetAwaiter().GetResult());
        return command;
    }

    private static Command StatusCommand()
    {
        var dataDir = DataDirOption();
        var manifest = ManifestOption();
        var command = new Command("status", "One line per dataset: present, partial, missing or failed; then the built-in datasets")
            { dataDir, manifest };
        command.SetAction(parse => Guarded(() =>
        {
            var (m, dir) = Open(parse.GetValue(manifest), parse.GetValue(dataDir));
            using var downloader = new Downloader();
            var fetcher = new DataFetcher(dir, downloader);
            Console.WriteLine($"data directory: {dir}");
            var statuses = fetcher.Status(m);
            int width = Math.Max(18, statuses.Max(s => s.Dataset.Length) + 2);
            foreach (var s in statuses) Console.WriteLine(FormatStatus(s, width));
            Console.WriteLine("built-in (generated, not downloaded):");
            foreach (var b in BuiltinDatasets.All)
                Console.WriteLine($"  {b.Name.PadRight(Math.Max(width - 2, b.Name.Length + 1))}{(BuiltinDatasets.IsPresent(b, dir) ? "present" : "missing"),-9} {b.Description}" +
                                  (BuiltinDatasets.IsPresent(b, dir) ? "" : $"; create with '{b.HowToCreate}'"));
            return Task.FromResult(CliHost.ExitOk);
        }).GetAwaiter().GetResult());
        return command;
    }

    /// <summary><c>chaos  present  1/1 files  open</c>, with the reason for partial/failed.</summary>
    internal static string FormatStatus(DatasetStatus s, int width)
    {
        var access = string.Join("/", s.Files.Select(f => f.Entry.Access.ToString().ToLowerInvariant()).Distinct());
        var line = $"{s.Dataset.PadRight(width)}{s.State.ToString().ToLowerInvariant(),-9} {s.PresentCount}/{s.Files.Count} files  {access}";
        var detail = s.State switch
        {
            DatasetState.Failed => "last verification failed: " + string.Join("; ", s.Files.Where(f => !f.Present && f.LastVerification?.State == FileState.Failed).Select(f => f.Entry.File)),
            DatasetState.Partial => string.Join("; ", s.Files.Where(f => !f.Present).Select(f => f.HasPartial ? $"{f.Entry.File} interrupted (.part)" : $"{f.Entry.File} missing")),
            _ => "",
        };
        return detail.Length > 0 ? $"{line}  ({detail})" : line;
    }

    private static Command ExtractCommand()
    {
        var dataset = new Argument<string>("dataset") { Description = "Dataset name from data-manifest.csv" };
        var part = PartOption();
        var dataDir = DataDirOption();
        var manifest = ManifestOption();
        var maxBytes = new Option<long>("--max-bytes")
            { Description = "Most bytes one archive may extract to (archive bomb guard)", DefaultValueFactory = _ => ExtractionLimits.Default.MaxTotalBytes };
        var maxEntries = new Option<int>("--max-entries")
            { Description = "Most entries one archive may hold (archive bomb guard)", DefaultValueFactory = _ => ExtractionLimits.Default.MaxEntries };
        var command = new Command("extract", "Unpack a dataset's verified archives into <data-dir>/<dataset>/<archive name>/ (safe, skipped when already done)")
            { dataset, part, dataDir, manifest, maxBytes, maxEntries };
        command.SetAction(parse => Guarded(() =>
        {
            var (m, dir) = Open(parse.GetValue(manifest), parse.GetValue(dataDir));
            var rows = m.Select(parse.GetValue(dataset)!, parse.GetValue(part));
            using var downloader = new Downloader();
            var fetcher = new DataFetcher(dir, downloader);
            var limits = new ExtractionLimits { MaxTotalBytes = parse.GetValue(maxBytes), MaxEntries = parse.GetValue(maxEntries) };
            int missing = 0;
            foreach (var row in rows)
            {
                if (row.Format == "tcia") continue; // a download list for the NBIA retriever, not an archive
                var archive = row.LocalPath(dir);
                if (!File.Exists(archive))
                {
                    missing++;
                    Console.Error.WriteLine($"meddistill: {row.Dataset}/{row.File} is not in {dir} yet; run 'meddistill data fetch {row.Dataset}' first");
                    continue;
                }
                var target = Path.Combine(dir, row.Dataset, ArchiveStem(row.File));
                var result = ArchiveExtractor.Extract(archive, target, limits, fetcher.ExpectedChecksum(row));
                Console.WriteLine(result.Skipped
                    ? $"{row.Dataset}/{row.File}: already extracted in {result.Target}"
                    : string.Create(CultureInfo.InvariantCulture, $"{row.Dataset}/{row.File}: extracted {result.Files} files, {RateProgress.FormatBytes(result.Bytes)} to {result.Target}"));
            }
            return Task.FromResult(missing > 0 ? CliHost.ExitFailure : CliHost.ExitOk);
        }).GetAwaiter().GetResult());
        return command;
    }

    /// <summary><c>CHAOS_Train_Sets.zip</c> → <c>CHAOS_Train_Sets</c>; <c>ge-1-5t.tar.gz</c> → <c>ge-1-5t</c>.</summary>
    internal static string ArchiveStem(string file)
    {
        foreach (var ext in new[] { ".tar.gz", ".tgz", ".tar", ".zip" })
            if (file.EndsWith(ext, StringComparison.OrdinalIgnoreCase)) return file[..^ext.Length];
        return file + ".d";
    }

    private static (DataManifest, string) Open(string? manifestOption, string? dataDirOption)
    {
        var path = manifestOption ?? DataManifest.FindDefaultPath();
        var manifest = DataManifest.Load(path);
        return (manifest, DataDirectory.Resolve(dataDirOption, path));
    }

    /// <summary>Maps the data layer's errors to messages and exit codes: bad input 2, failed download/verification/extraction 1.</summary>
    private static async Task<int> Guarded(Func<Task<int>> action)
    {
        try
        {
            return await action();
        }
        catch (Exception e) when (e is ManifestException or ArgumentException or FileNotFoundException)
        {
            Console.Error.WriteLine($"meddistill: {e.Message}");
            return CliHost.ExitSetup;
        }
        catch (Exception e) when (e is DownloadException or ExtractionException or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"meddistill: {e.Message}");
            return CliHost.ExitFailure;
        }
    }
}
