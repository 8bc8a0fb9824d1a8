using System.CommandLine;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using MedDistill.Models;
using MedDistill.Models.Profiling;

namespace MedDistill.Cli.Commands;

/// <summary><c>meddistill models list|count</c>: the zoo's networks, their parameters and FLOPs.</summary>
public static class ModelsCommand
{
    public static Command Create()
    {
        var command = new Command("models", "List the networks of the zoo and count their parameters and FLOPs");
        command.Subcommands.Add(CreateList());
        command.Subcommands.Add(CreateCount());
        return command;
    }

    private static Command CreateList()
    {
        var command = new Command("list", "Registered networks with their parameters for single-channel, two-class input");
        command.SetAction(_ =>
        {
            var options = AffinityKdTable1.MriOptions;
            // The name column fits the longest registry name (mobilenetv2-unet is 16 characters) plus a space.
            int width = Math.Max(16, ModelRegistry.Names.Max(n => n.Length) + 1);
            Console.WriteLine($"{"name".PadRight(width)}{"network",-18}{$"params (in {options.InChannels}, classes {options.Classes})",24}");
            foreach (var name in ModelRegistry.Names)
            {
                using var net = ModelRegistry.Create(name, options);
                Console.WriteLine($"{name.PadRight(width)}{net.GetName(),-18}{net.parameter_count().ToString("N0", CultureInfo.InvariantCulture),24}");
            }
            return CliHost.ExitOk;
        });
        return command;
    }

    private static Command CreateCount()
    {
        var name = new Argument<string>("name") { Description = "Registry name (see `meddistill models list`)" };
        var inChannels = new Option<int>("--in-channels") { Description = "Input channels", DefaultValueFactory = _ => 1 };
        var classes = new Option<int>("--classes") { Description = "Output classes", DefaultValueFactory = _ => 2 };
        var size = new Option<int>("--size") { Description = "Image side in pixels (square input)", DefaultValueFactory = _ => AffinityKdTable1.Size };
        var width = new Option<double>("--width") { Description = "Width multiplier of the network (1 = as published)", DefaultValueFactory = _ => 1.0 };
        var perLayer = new Option<bool>("--per-layer") { Description = "Also list every costed layer" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of text" };
        var command = new Command("count",
            "Parameters and FLOPs of one network for a 1×C×S×S image: true MACs and the Affinity-KD paper's convention (2 × ptflops GMac)")
        {
            name, inChannels, classes, size, width, perLayer, json,
        };
        command.SetAction(parse =>
        {
            int s = parse.GetValue(size);
            if (s < 1)
            {
                Console.Error.WriteLine($"meddistill models count: --size must be at least 1 (got {s})");
                return CliHost.ExitSetup;
            }
            ModelCost cost;
            try
            {
                var options = new ModelOptions(parse.GetValue(inChannels), parse.GetValue(classes), parse.GetValue(width));
                using var net = ModelRegistry.Create(parse.GetValue(name)!, options);
                cost = ModelProfiler.Profile(net, s, s);
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine($"meddistill models count: {CliHost.Describe(e)}");
                return CliHost.ExitSetup;
            }
            if (parse.GetValue(json))
                Console.WriteLine(ToJson(cost, parse.GetValue(perLayer)).ToJsonString(new JsonSerializerOptions
                    { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, WriteIndented = true }));
            else
                PrintText(cost, parse.GetValue(perLayer));
            return CliHost.ExitOk;
        });
        return command;
    }

    private static string Shape(long[] shape) => shape.Length == 0 ? "-" : string.Join('x', shape);
    private static string N(long v) => v.ToString("N0", CultureInfo.InvariantCulture);
    private static string G(double v) => v.ToString("F3", CultureInfo.InvariantCulture);

    private static void PrintText(ModelCost cost, bool perLayer)
    {
        var p = cost.PaperMacs;
        Console.WriteLine($"model:                   {cost.Model}");
        Console.WriteLine($"input:                   {Shape(cost.InputShape)}");
        Console.WriteLine($"params:                  {N(cost.Parameters)} (trainable {N(cost.TrainableParameters)}, {AffinityKdTable1.ParamsAsPrinted(cost.Parameters).ToString(CultureInfo.InvariantCulture)} M as the paper prints)");
        foreach (var c in cost.ParametersByChild)
            Console.WriteLine($"  {c.Name + " (" + c.Type + ")",-36}{N(c.Parameters),16}");
        Console.WriteLine($"gmacs_true:              {G(cost.GmacsTrue)}");
        Console.WriteLine($"gflops_paper_convention: {G(cost.GflopsPaperConvention)}  (ptflops {G(cost.PaperGmac)} GMac)");
        Console.WriteLine("ptflops terms (GMac):");
        foreach (var (label, value) in new (string, long)[]
                 {
                     ("convolution MACs", p.ConvolutionMacs), ("ConvTranspose on output grid", p.TransposedGridExcess),
                     ("convolution bias", p.ConvolutionBias), ("linear", p.Linear), ("batchnorm", p.BatchNorm),
                     ("activations", p.Activation), ("pooling", p.Pooling), ("upsample", p.Upsample),
                 })
            Console.WriteLine($"  {label,-34}{(value / 1e9).ToString("F4", CultureInfo.InvariantCulture),12}");
        if (cost.RepeatedRegistrationMacs > 0)
            Console.WriteLine($"  (of these, modules registered twice: {(cost.RepeatedRegistrationMacs / 1e9).ToString("F4", CultureInfo.InvariantCulture)})");
        foreach (var (path, layers, parameters) in cost.NotRunParts())
            Console.WriteLine($"not run: {path} ({layers} layer{(layers == 1 ? "" : "s")}, {N(parameters)} params)");
        if (!perLayer) return;
        Console.WriteLine();
        int w = Math.Max(5, cost.Layers.Max(l => l.Path.Length));
        Console.WriteLine($"{"layer".PadRight(w)}  {"type",-22}{"calls",6}{"regs",5}  {"input",-18}{"output",-18}{"params",12}{"true MACs",16}{"ptflops MACs",16}");
        foreach (var l in cost.Layers)
            Console.WriteLine($"{l.Path.PadRight(w)}  {l.Type,-22}{l.Calls,6}{l.Registrations,5}  {Shape(l.InputShape),-18}{Shape(l.OutputShape),-18}{N(l.Parameters),12}{N(l.TrueMacs),16}{N(l.PaperMacs.Total),16}");
    }

    private static JsonObject ToJson(ModelCost cost, bool perLayer)
    {
        var p = cost.PaperMacs;
        var o = new JsonObject
        {
            ["model"] = cost.Model,
            ["input"] = new JsonArray(cost.InputShape.Select(d => (JsonNode)d).ToArray()),
            ["params"] = cost.Parameters,
            ["trainable_params"] = cost.TrainableParameters,
            ["params_m_as_printed"] = AffinityKdTable1.ParamsAsPrinted(cost.Parameters),
            ["params_by_child"] = new JsonArray(cost.ParametersByChild
                .Select(c => (JsonNode)new JsonObject { ["name"] = c.Name, ["type"] = c.Type, ["params"] = c.Parameters }).ToArray()),
            ["macs_true"] = cost.TrueMacs,
            ["gmacs_true"] = cost.GmacsTrue,
            ["gflops_paper_convention"] = cost.GflopsPaperConvention,
            ["ptflops_macs"] = new JsonObject
            {
                ["total"] = p.Total,
                ["convolution"] = p.ConvolutionMacs,
                ["transposed_grid_excess"] = p.TransposedGridExcess,
                ["convolution_bias"] = p.ConvolutionBias,
                ["linear"] = p.Linear,
                ["batchnorm"] = p.BatchNorm,
                ["activation"] = p.Activation,
                ["pooling"] = p.Pooling,
                ["upsample"] = p.Upsample,
                ["repeated_registration"] = cost.RepeatedRegistrationMacs,
            },
            ["not_run"] = new JsonArray(cost.NotRun.Select(l => (JsonNode)l.Path).ToArray()),
        };
        if (perLayer)
            o["layers"] = new JsonArray(cost.Layers.Select(l => (JsonNode)new JsonObject
            {
                ["path"] = l.Path,
                ["type"] = l.Type,
                ["calls"] = l.Calls,
                ["registrations"] = l.Registrations,
                ["input"] = Shape(l.InputShape),
                ["output"] = Shape(l.OutputShape),
                ["params"] = l.Parameters,
                ["macs_true"] = l.TrueMacs,
                ["ptflops_macs"] = l.PaperMacs.Total,
            }).ToArray());
        return o;
    }
}
