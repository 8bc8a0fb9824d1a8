using MedDistill.Models;
using MedDistill.Torch;
using static MedDistill.Torch.torch;

namespace MedDistill.Bench;

/// <summary>The checks every benchmark command makes before it runs: known model names, the device, the thread count.</summary>
internal static class BenchSetup
{
    /// <summary>Prints the unknown names (for <c>bench &lt;command&gt;</c>) and returns false when there are any.</summary>
    public static bool KnownModels(string command, IEnumerable<string> names)
    {
        var unknown = names.Where(m => !ModelRegistry.Names.Contains(m, StringComparer.OrdinalIgnoreCase)).Distinct().ToList();
        if (unknown.Count == 0) return true;
        Console.Error.WriteLine($"bench {command}: unknown model(s) {string.Join(", ", unknown)}; known: {string.Join(", ", ModelRegistry.Names)}");
        return false;
    }

    /// <summary>Parses the device and applies the thread count (when positive); null (after a message) for a bad device.</summary>
    public static Device? DeviceAndThreads(string command, string device, int threads)
    {
        Device dev;
        try { dev = torch.device(device); }
        catch (ArgumentException e) { Console.Error.WriteLine($"bench {command}: --device: {e.Message}"); return null; }
        if (threads > 0) set_num_threads(threads);
        return dev;
    }

    /// <summary>A comma-separated list of positive integers (batch sizes, image sides); false when any part is not one.</summary>
    public static bool TryParsePositiveList(string text, out List<int> values)
    {
        values = [];
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int v) || v < 1)
                return false;
            values.Add(v);
        }
        return values.Count > 0;
    }
}
