import { openService, type LocalService } from '../service/index.js';

/** Opens the service for one command and closes it afterwards, whatever happens. */
export async function withService<T>(fn: (service: LocalService) => Promise<T>): Promise<T> {
  const service = await openService();
  try {
    return await fn(service);
  } finally {
    await service.close();
  }
}
