using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MedDistill.Experiments.Runs;

/// <summary>
/// Starting points for specs. <c>paper</c> is the Affinity-KD paper's setting (the spec defaults: real prostate data,
/// full-width networks, Adam 0.01 with CyclicLR, 100 epochs, batch 16). <c>phantom</c> is a few-minute CPU setting on the
/// built-in phantom: quarter-width networks, 3 epochs of batch 8, a CyclicLR half-cycle of 20 steps.
/// </summary>
public static class RunProfiles
{
    public static IReadOnlyList<string> Names { get; } = ["paper", "phantom"];

    public static RunSpec Get(string name) => name switch
    {
        "paper" => new RunSpec(),
        "phantom" => new RunSpec
        {
            Model = new ModelSpec { Width = 0.25 },
            Data = new DataSpec { Dataset = "phantom-prostate" },
            Schedule = new ScheduleSpec { Epochs = 3, BatchSize = 8, CyclicStepSize = 20 },
        },
        _ => throw new ArgumentException($"profile: '{name}' is not known; known: {string.Join(", ", Names)}"),
    };
}

/// <summary>
/// Edits a spec by dotted paths, as given on the command line: <c>schedule.epochs=3</c>, <c>method.options.margin=2.5</c>,
/// <c>data.split.target=S4</c>. A value that parses as JSON (numbers, true/false, null, quoted strings, objects) is
/// taken as JSON, anything else as a string. Unknown fields fail when the edited spec is read, naming the path.
/// </summary>
public static class SpecOverrides
{
    public static RunSpec Apply(RunSpec spec, IEnumerable<string> assignments)
    {
        var list = assignments.ToList();
        if (list.Count == 0) return spec;
        var root = JsonSerializer.SerializeToNode(spec, RunSpec.Json)!.AsObject();
        foreach (var assignment in list)
        {
            int eq = assignment.IndexOf('=');
            if (eq <= 0) throw new ArgumentException($"--set '{assignment}': expected path=value, e.g. schedule.epochs=3");
            var path = assignment[..eq].Trim();
            var parts = path.Split('.');
            if (parts.Any(string.IsNullOrWhiteSpace)) throw new ArgumentException($"--set '{assignment}': the path has an empty part");
            var node = root;
            for (int i = 0; i < parts.Length - 1; i++)
            {
                var key = MatchKey(node, parts[i]);
                if (node[key] is not JsonObject child)
                {
                    child = new JsonObject();
                    node[key] = child;
                }
                node = child;
            }
            node[MatchKey(node, parts[^1])] = ParseValue(assignment[(eq + 1)..]);
        }
        return RunSpec.FromJson(root.ToJsonString(), "--set");
    }

    /// <summary>Spec keys are camelCase; accept any capitalisation of an existing key.</summary>
    private static string MatchKey(JsonObject node, string key) =>
        node.Select(p => p.Key).FirstOrDefault(k => string.Equals(k, key, StringComparison.OrdinalIgnoreCase)) ?? key;

    private static JsonNode? ParseValue(string text)
    {
        var t = text.Trim();
        try
        {
            using var doc = JsonDocument.Parse(t);
            return JsonNode.Parse(t);
        }
        catch (JsonException)
        {
            return JsonValue.Create(t);
        }
    }

    internal static string Format(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
