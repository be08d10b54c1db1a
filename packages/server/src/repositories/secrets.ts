import type { Knex } from 'knex';

/** Secrets shared by every instance (`server_secrets`), each made once by whoever asks first. */
export class SecretRepository {
  constructor(private readonly db: Knex) {}

  /**
   * The secret called `name`, stored as `fresh()` if there was none. Insert-if-absent then read:
   * of two instances starting at once, one insert wins and both read the winner's value.
   */
  async getOrCreate(name: string, fresh: () => string): Promise<string> {
    await this.db('server_secrets').insert({ name, value: fresh(), created_at: Date.now() }).onConflict('name').ignore();
    const row = await this.db('server_secrets').where('name', name).first('value');
    return String(row.value);
  }
}
