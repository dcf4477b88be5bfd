//! `rapport native-host` and `rapport install thunderbird`: the Thunderbird extension's side of
//! Rapport. (Being built: see issue 5.)

use std::process::ExitCode;

use crate::commands::Ctx;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Arguments Thunderbird passes: the host manifest path and the caller's extension id
    #[arg(hide = true)]
    pub caller: Vec<String>,
}

#[derive(clap::Args, Debug)]
pub struct InstallArgs {
    /// Remove the host manifest instead
    #[arg(long)]
    pub uninstall: bool,
}

pub fn run(_ctx: &Ctx, _args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("the native-messaging host is not built yet")
}

pub fn install(_ctx: &Ctx, _args: InstallArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`rapport install thunderbird` is not built yet")
}
