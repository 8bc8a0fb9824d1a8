using System.Diagnostics;
using System.Text;

namespace MedDistill.Cli.Tests;

/// <summary>
/// A real one-node Slurm on this machine for the tests: Debian's munge, slurmctld and slurmd (installed with apt-get
/// when missing and the tests run as root), a tiny slurm.conf in a temporary folder, and the daemons started in the
/// foreground so that <see cref="Dispose"/> stops exactly them, by pid. <see cref="TryStart"/> says why when it cannot.
/// </summary>
internal sealed class SlurmCluster : IDisposable
{
    private static readonly string[] Packages = ["slurmctld", "slurmd", "slurm-client", "munge"];
    private readonly List<Process> daemons = [];
    private readonly string? previousConf = Environment.GetEnvironmentVariable("SLURM_CONF");

    private SlurmCluster(string folder) => Folder = folder;

    /// <summary>Holds slurm.conf, the daemons' state, spool and logs.</summary>
    public string Folder { get; }
    public string Conf => Path.Combine(Folder, "slurm.conf");

    public static SlurmCluster? TryStart(out string whyNot)
    {
        whyNot = "";
        if (!OperatingSystem.IsLinux()) { whyNot = "Slurm runs on Linux only"; return null; }
        if (Run("id", "-u").Stdout.Trim() != "0") { whyNot = "starting munged, slurmctld and slurmd needs root (the tests run as another user)"; return null; }
        if (!Installed() && Install() is { } notInstalled) { whyNot = notInstalled; return null; }

        var cluster = new SlurmCluster(Directory.CreateTempSubdirectory("md-slurm-").FullName);
        try
        {
            if (cluster.Start() is { } notStarted)
            {
                whyNot = notStarted;
                cluster.Dispose();
                return null;
            }
            return cluster;
        }
        catch
        {
            cluster.Dispose();
            throw;
        }
    }

    private static bool Installed() =>
        new[] { "/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/bin/sbatch", "/usr/sbin/munged" }.All(File.Exists);

    /// <returns>Null when installed, else why not.</returns>
    private static string? Install()
    {
        if (!File.Exists("/usr/bin/apt-get")) return $"Slurm is not installed and there is no apt-get to install {string.Join(' ', Packages)}";
        // Keep the packages' scripts from starting the system's own daemons: the tests start theirs and stop them again.
        const string policy = "/usr/sbin/policy-rc.d";
        bool ownPolicy = !File.Exists(policy);
        if (ownPolicy)
        {
            File.WriteAllText(policy, "#!/bin/sh\nexit 101\n");
            File.SetUnixFileMode(policy, (UnixFileMode)0b111_101_101);
        }
        try
        {
            var install = Run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", .. Packages], noninteractive: true);
            if (install.Code != 0)
            {
                Run("apt-get", ["update", "-qq"], noninteractive: true);
                install = Run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", .. Packages], noninteractive: true);
            }
            return install.Code == 0 && Installed() ? null
                : $"apt-get install {string.Join(' ', Packages)} failed (exit code {install.Code}): {Tail(install.Stdout + install.Stderr)}";
        }
        finally
        {
            if (ownPolicy) File.Delete(policy);
        }
    }

    /// <returns>Null when the node is idle and takes jobs, else why not.</returns>
    private string? Start()
    {
        if (Run("munge", "-n").Code != 0)
        {
            if (!File.Exists("/etc/munge/munge.key"))
            {
                var key = Run("/usr/sbin/mungekey", "--create");
                if (key.Code != 0) return $"mungekey --create failed: {Tail(key.Stderr)}";
            }
            Run("chown", "munge:munge", "/etc/munge/munge.key");
            Run("chmod", "0400", "/etc/munge/munge.key");
            Run("install", "-d", "-o", "munge", "-g", "munge", "-m", "0755", "/run/munge");
            // munged refuses root; setpriv execs it as munge (no fork), so the pid we hold is munged's.
            Daemon("setpriv", "--reuid=munge", "--regid=munge", "--clear-groups", "/usr/sbin/munged", "--foreground");
            if (!WaitFor(() => Run("munge", "-n").Code == 0, TimeSpan.FromSeconds(15))) return "munged did not start (munge -n keeps failing)";
        }

        var host = Run("hostname", "-s").Stdout.Trim();
        // slurmd -C prints this node as Slurm sees it (CPUs, sockets, memory), so the configured node always matches.
        var node = Run("/usr/sbin/slurmd", "-C").Stdout.Split('\n').FirstOrDefault(l => l.StartsWith("NodeName=", StringComparison.Ordinal))?.Trim()
            ?? $"NodeName={host} CPUs={Environment.ProcessorCount}";
        Directory.CreateDirectory(Path.Combine(Folder, "state"));
        Directory.CreateDirectory(Path.Combine(Folder, "spool"));
        File.WriteAllText(Conf, $"""
            ClusterName=meddistill-test
            SlurmctldHost={host}(127.0.0.1)
            SlurmUser=root
            SlurmdUser=root
            SlurmctldPort=16817
            SlurmdPort=16818
            AuthType=auth/munge
            CredType=cred/munge
            ProctrackType=proctrack/linuxproc
            TaskPlugin=task/none
            SelectType=select/cons_tres
            SelectTypeParameters=CR_Core
            JobAcctGatherType=jobacct_gather/none
            AccountingStorageType=accounting_storage/none
            MpiDefault=none
            ReturnToService=2
            KillWait=5
            StateSaveLocation={Folder}/state
            SlurmdSpoolDir={Folder}/spool
            SlurmctldPidFile={Folder}/slurmctld.pid
            SlurmdPidFile={Folder}/slurmd.pid
            SlurmctldLogFile={Folder}/slurmctld.log
            SlurmdLogFile={Folder}/slurmd.log
            {node} NodeAddr=127.0.0.1 State=UNKNOWN
            PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP

            """);
        // The CLI under test calls sbatch and squeue as child processes: they find this cluster through SLURM_CONF.
        Environment.SetEnvironmentVariable("SLURM_CONF", Conf);
        Daemon("/usr/sbin/slurmctld", "-D", "-c", "-f", Conf);
        Daemon("/usr/sbin/slurmd", "-D", "-f", Conf);
        bool idle = WaitFor(() => Run("sinfo", "--noheader", "--format=%T").Stdout.Trim() is "idle", TimeSpan.FromSeconds(60));
        return idle ? null : $"the one-node Slurm did not come up within a minute (sinfo: {Run("sinfo", "--noheader").Stdout.Trim()}); "
            + $"slurmctld.log: {Tail(ReadLog("slurmctld.log"))}; slurmd.log: {Tail(ReadLog("slurmd.log"))}";
    }

    private string ReadLog(string name) => File.Exists(Path.Combine(Folder, name)) ? File.ReadAllText(Path.Combine(Folder, name)) : "(none)";

    /// <summary>The job ids in the queue (pending, running, completing).</summary>
    public IReadOnlyList<string> Queue() =>
        Run("squeue", "--noheader", "--format=%i").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>Waits until the queue is empty; false on timeout.</summary>
    public bool WaitForEmptyQueue(TimeSpan timeout) => WaitFor(() => Queue().Count == 0, timeout);

    public string Describe() => $"squeue: {Run("squeue").Stdout.Trim()}; slurmctld.log: {Tail(ReadLog("slurmctld.log"))}";

    private void Daemon(string program, params string[] args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        daemons.Add(p);
    }

    /// <summary>Cancels what is left in the queue, then stops the daemons this cluster started, newest first, by pid.</summary>
    public void Dispose()
    {
        if (daemons.Count > 0 && File.Exists(Conf))
        {
            Run("scancel", "--user=root");
            WaitForEmptyQueue(TimeSpan.FromSeconds(30));
        }
        foreach (var d in Enumerable.Reverse(daemons))
        {
            if (!d.HasExited)
            {
                Run("kill", "-TERM", d.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
                if (!d.WaitForExit(TimeSpan.FromSeconds(15))) d.Kill();
                d.WaitForExit();
            }
            d.Dispose();
        }
        daemons.Clear();
        Environment.SetEnvironmentVariable("SLURM_CONF", previousConf);
        try { Directory.Delete(Folder, recursive: true); }
        catch (IOException) { }
    }

    public static bool WaitFor(Func<bool> condition, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > timeout) return false;
            Thread.Sleep(500);
        }
        return true;
    }

    private static (int Code, string Stdout, string Stderr) Run(string program, params string[] args) => Run(program, args, noninteractive: false);

    public static (int Code, string Stdout, string Stderr) Run(string program, string[] args, bool noninteractive)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (noninteractive) psi.Environment["DEBIAN_FRONTEND"] = "noninteractive";
        try
        {
            using var p = Process.Start(psi)!;
            p.StandardInput.Close();
            var stderr = p.StandardError.ReadToEndAsync();
            var stdout = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode, stdout, stderr.Result);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (127, "", $"{program}: {e.Message}");
        }
    }

    private static string Tail(string text)
    {
        var lines = text.Trim().Split('\n');
        return new StringBuilder().AppendJoin(" / ", lines.Skip(Math.Max(0, lines.Length - 5))).ToString();
    }
}
