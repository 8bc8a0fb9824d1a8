namespace MedDistill.Data.Manifest;

/// <summary>One problem in a manifest (or pins/state) file, at a 1-based line.</summary>
public readonly record struct ManifestProblem(int Line, string Problem);

/// <summary>A malformed manifest (or pins/state file): every problem, each as <c>file:line: problem</c>.</summary>
public sealed class ManifestException : Exception
{
    public string File { get; }
    public IReadOnlyList<ManifestProblem> Problems { get; }
    /// <summary>Line of the first problem.</summary>
    public int Line => Problems[0].Line;

    public ManifestException(string file, int line, string problem) : this(file, [new ManifestProblem(line, problem)]) { }

    public ManifestException(string file, IReadOnlyList<ManifestProblem> problems)
        : base(string.Join("\n", problems.Select(p => $"{file}:{p.Line}: {p.Problem}")))
    {
        File = file;
        Problems = problems;
    }
}
