using System.CommandLine;
using System.Text.Json;
using MedDistill.Experiments.Papers;

namespace MedDistill.Cli.Commands;

/// <summary><c>meddistill papers</c>: the papers the harness reproduces, their profiles and tables (build.sh reads <c>--ids</c>).</summary>
public static class PapersCommand
{
    public static Command Create()
    {
        var ids = new Option<bool>("--ids") { Description = "Only the ids, one per line" };
        var json = new Option<bool>("--json") { Description = "Print the list as JSON" };
        var statics = new Option<string?>("--static") { Description = "Only the tables without runs of this paper, one per line (the main job writes them first)" };
        var profiles = new Option<string?>("--profiles") { Description = "Only the profile names of this paper, one per line" };
        var tables = new Option<string?>("--tables") { Description = "Only the tables and studies of this paper (static, run, studies), one per line" };
        var defaultProfile = new Option<string?>("--default-profile") { Description = "The profile the main job runs for this paper when none is named (real data present: the paper's)" };
        var dataDir = DataCommand.DataDirOption();
        var command = new Command("papers", "List the papers, their profiles, tables and studies") { ids, json, statics, profiles, tables, defaultProfile, dataDir };
        command.SetAction(parse => CliHost.Guard(() =>
        {
            if (parse.GetValue(profiles) is { } pid)
            {
                foreach (var p in PaperRegistry.Get(pid).Profiles) Console.WriteLine(p.Name);
                return CliHost.ExitOk;
            }
            if (parse.GetValue(tables) is { } tid)
            {
                var paper = PaperRegistry.Get(tid);
                foreach (var t in paper.StaticTables.Concat(paper.RunTables).Concat(paper.Studies)) Console.WriteLine(t);
                return CliHost.ExitOk;
            }
            if (parse.GetValue(defaultProfile) is { } did)
            {
                Console.WriteLine(PaperRegistry.Get(did).DefaultProfile(DataCommand.ResolveDataDir(parse.GetValue(dataDir))).Name);
                return CliHost.ExitOk;
            }
            if (parse.GetValue(statics) is { } id)
            {
                foreach (var t in PaperRegistry.Get(id).StaticTables) Console.WriteLine(t);
                return CliHost.ExitOk;
            }
            if (parse.GetValue(ids))
            {
                foreach (var p in PaperRegistry.All) Console.WriteLine(p.Id);
                return CliHost.ExitOk;
            }
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(PaperRegistry.All.Select(p => new
                {
                    id = p.Id, title = p.Title, profiles = p.Profiles.Select(x => x.Name), staticTables = p.StaticTables,
                    runTables = p.RunTables, studies = p.Studies, tables = p.TablesFolder,
                })));
                return CliHost.ExitOk;
            }
            foreach (var p in PaperRegistry.All)
            {
                Console.WriteLine($"{p.Id}: {p.Title}");
                Console.WriteLine($"  profiles: {string.Join(", ", p.Profiles.Select(x => x.Name))} (default {p.Profiles[0].Name})");
                Console.WriteLine($"  tables:   {string.Join(", ", [.. p.StaticTables, .. p.RunTables])}; studies: {string.Join(", ", p.Studies)}");
                Console.WriteLine($"  folder:   {p.TablesFolder}/");
            }
            return CliHost.ExitOk;
        }));
        return command;
    }
}
