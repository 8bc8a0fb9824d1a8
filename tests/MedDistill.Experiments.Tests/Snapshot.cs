using System.Runtime.CompilerServices;
using System.Text;

namespace MedDistill.Experiments.Tests;

/// <summary>
/// Verify-style snapshots: <c>Snapshots/&lt;name&gt;.verified.&lt;ext&gt;</c> is committed; a run that produces other text
/// writes <c>&lt;name&gt;.received.&lt;ext&gt;</c> beside it (git-ignored) and fails with a line diff. To accept a change,
/// review the received file and rename it over the verified one. A received file from an earlier failure is removed
/// when the snapshot matches again.
/// </summary>
internal static class Snapshot
{
    public static void Verify(string name, string extension, string actual, [CallerFilePath] string callerFile = "")
    {
        var dir = Path.Combine(Path.GetDirectoryName(callerFile)!, "Snapshots");
        Directory.CreateDirectory(dir);
        var verified = Path.Combine(dir, $"{name}.verified.{extension}");
        var received = Path.Combine(dir, $"{name}.received.{extension}");
        if (File.Exists(verified) && File.ReadAllText(verified) == actual)
        {
            if (File.Exists(received)) File.Delete(received);
            return;
        }
        File.WriteAllText(received, actual);
        if (!File.Exists(verified))
            Assert.Fail($"no verified snapshot {verified}; the output is in {received}: review it and rename it to accept");
        Assert.Fail($"snapshot {name}.{extension} differs from {verified} (output in {received}):\n{LineDiff(File.ReadAllText(verified), actual)}");
    }

    /// <summary>Changed lines as "-verified" / "+received" pairs, with line numbers.</summary>
    public static string LineDiff(string expected, string actual)
    {
        var a = expected.Split('\n');
        var b = actual.Split('\n');
        var sb = new StringBuilder();
        for (int i = 0; i < Math.Max(a.Length, b.Length); i++)
        {
            var x = i < a.Length ? a[i] : null;
            var y = i < b.Length ? b[i] : null;
            if (x == y) continue;
            if (x is not null) sb.Append($"line {i + 1} -{x}\n");
            if (y is not null) sb.Append($"line {i + 1} +{y}\n");
        }
        return sb.ToString();
    }
}

public class SnapshotTests
{
    [Test]
    public void TheDiffShowsEachChangedLineFromBothSides() =>
        Assert.That(Snapshot.LineDiff("a,1\nb,2\nc,3\n", "a,1\nb,5\nc,3\nd,4\n"), Is.EqualTo("line 2 -b,2\nline 2 +b,5\nline 4 -\nline 4 +d,4\nline 5 +\n"));
}
