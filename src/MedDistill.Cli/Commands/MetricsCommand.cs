using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using MedDistill.Data.Volumes;
using MedDistill.Evaluation;

namespace MedDistill.Cli.Commands;

/// <summary>
/// <c>meddistill metrics ...</c>: metrics computed from files rather than from a run. <c>metrics fsd A.npy B.npy [--json]</c>
/// is GKD's Fréchet semantic distance between two (n, d) arrays of vectors (docs/evaluation.md, "Fréchet distance").
/// Exit 0 with the value on stdout; 1 when a file is missing, unreadable, not 2-D, holds NaN/Inf, or the two d differ.
/// </summary>
public static class MetricsCommand
{
    public static Command Create()
    {
        var group = new Command("metrics", "Metrics computed from files (e.g. the Fréchet semantic distance between two sets of vectors)");
        group.Subcommands.Add(Fsd());
        return group;
    }

    private static Command Fsd()
    {
        var a = new Argument<string>("A") { Description = "First set: an .npy array of shape (n1, d), float32 or float64, one vector per row" };
        var b = new Argument<string>("B") { Description = "Second set: an .npy array of shape (n2, d)" };
        var json = new Option<bool>("--json") { Description = "Print a JSON object: fsd, n1, n2, d, mean_term, trace_term" };
        var command = new Command("fsd",
            "Fréchet semantic distance: ‖μ₁−μ₂‖² + Tr(Σ₁+Σ₂−2(Σ₁Σ₂)^½) between Gaussian fits of the rows of A and of B")
        {
            a, b, json,
        };
        command.SetAction(parse => CliHost.Guard(() =>
        {
            string pathA = parse.GetValue(a)!, pathB = parse.GetValue(b)!;
            var setA = ReadVectors(pathA);
            var setB = ReadVectors(pathB);
            int dA = setA.Shape[1], dB = setB.Shape[1];
            if (dA != dB)
                throw new InvalidDataException($"{pathA} has vectors of dimension {dA} (shape ({setA.Shape[0]}, {dA})), {pathB} of dimension {dB} (shape ({setB.Shape[0]}, {dB})); fsd needs the same d");

            FrechetResult result;
            try
            {
                // The fits are named by file, so a NaN is reported as "B.npy: vector 3, component 0 is NaN ...".
                result = FrechetDistance.Between(
                    FrechetDistance.Fit(setA.Data, setA.Shape[0], dA, pathA),
                    FrechetDistance.Fit(setB.Data, setB.Shape[0], dB, pathB));
            }
            catch (ArgumentException e)
            {
                // Bad values in a file are a data failure (exit 1), not bad usage (exit 2, what Guard makes of ArgumentException).
                throw new InvalidDataException(CliHost.Describe(e), e);
            }
            Console.WriteLine(parse.GetValue(json) ? ToJson(result) : result.Distance.ToString("R", CultureInfo.InvariantCulture));
            return CliHost.ExitOk;
        }));
        return command;
    }

    private static NpyArray ReadVectors(string path)
    {
        var array = Npy.ReadDoubles(path);
        if (array.Shape.Length != 2)
            throw new DataFormatException(path,
                $"a {array.Shape.Length}-D array (shape ({string.Join(", ", array.Shape)})); fsd needs a 2-D (n, d) array, one vector per row");
        return array;
    }

    internal static string ToJson(FrechetResult r)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteNumber("fsd", r.Distance);
            w.WriteNumber("n1", r.Count1);
            w.WriteNumber("n2", r.Count2);
            w.WriteNumber("d", r.Dimension);
            w.WriteNumber("mean_term", r.MeanTerm);
            w.WriteNumber("trace_term", r.TraceTerm);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }
}
