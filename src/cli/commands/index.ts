// Every command group of the CLI, one module each. The order is the order of `atlas-ops --help`
// and of the README's command table.
import type { Command } from 'commander';
import type { Run } from '../action';
import { registerBackup } from './backup';
import { registerCluster } from './cluster';
import { registerDb } from './db';
import { registerDev } from './dev';
import { registerDiskEmergency } from './disk-emergency';
import { registerDoctor } from './doctor';
import { registerHealth } from './health';
import { registerIncident } from './incident';
import { registerKeyRotation } from './key-rotation';
import { registerList } from './list';
import { registerMaintenance } from './maintenance';
import { registerMigrateTimers } from './migrate-timers';
import { registerRecover } from './recover';
import { registerReplication } from './replication';
import { registerReport } from './report';
import { registerSchedules } from './schedules';
import { registerSheetsEmulator } from './sheets-emulator';
import { registerSheetsOutage } from './sheets-outage';
import { registerStatus } from './status';
import { registerSync } from './sync';

export function registerCommands(program: Command, run: Run): void {
  registerDev(program, run);
  registerCluster(program, run);
  registerSchedules(program, run);
  registerMaintenance(program, run);
  registerStatus(program, run);
  registerSync(program, run);
  registerDoctor(program, run);
  registerSheetsOutage(program, run);
  registerSheetsEmulator(program, run);
  registerDb(program, run);
  registerDiskEmergency(program, run);
  registerBackup(program, run);
  registerRecover(program, run);
  registerReplication(program, run);
  registerHealth(program, run);
  registerReport(program, run);
  registerIncident(program, run);
  registerKeyRotation(program, run);
  registerList(program, run);
  registerMigrateTimers(program, run);
}
