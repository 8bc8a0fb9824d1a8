using System.CommandLine;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using MedDistill.Torch;

namespace MedDistill.Cli.Commands;

/// <summary><c>meddistill info</c>: versions and the compute the engine sees, for logs and bug reports.</summary>
public static class InfoCommand
{
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of text" };
        var command = new Command("info", "Show MedDistill, libtorch and runtime versions, threads and CUDA devices");
        command.Options.Add(json);
        command.SetAction(parse =>
        {
            var info = Collect();
            if (parse.GetValue(json))
                Console.WriteLine(info.ToJsonString(new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
            else
                foreach (var (key, value) in info)
                    Console.WriteLine($"{key + ":",-18}{value}");
            return CliHost.ExitOk;
        });
        return command;
    }

    /// <summary>The facts, in display order. The first native call is here, so a missing shim fails before any output.</summary>
    public static JsonObject Collect()
    {
        var libtorch = torch.__version__;
        var cuda = torch.cuda.is_available();
        return new JsonObject
        {
            ["meddistill"] = MedDistillVersion(),
            ["libtorch"] = libtorch,
            ["threads"] = torch.get_num_threads(),
            ["interop_threads"] = torch.get_num_interop_threads(),
            ["cuda_available"] = cuda,
            ["cuda_devices"] = cuda ? torch.cuda.device_count() : 0,
            ["dotnet"] = RuntimeInformation.FrameworkDescription,
            ["os"] = RuntimeInformation.OSDescription,
            ["arch"] = RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant(),
        };
    }

    private static string MedDistillVersion()
    {
        var assembly = typeof(InfoCommand).Assembly;
        // The SDK appends "+<commit>" to the informational version when built from git; keep it, it pins the source.
        return assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
               ?? assembly.GetName().Version?.ToString() ?? "unknown";
    }
}
