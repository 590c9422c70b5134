// Work in progress: replaced by the real handler before this lands.
export const handler = async (): Promise<unknown> => ({});
